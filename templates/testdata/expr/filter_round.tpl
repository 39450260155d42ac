${{ 2.5 | round }} ${{ 3.14159 | round(2) }} ${{ 2.1 | round(0, 'ceil') }} ${{ 2.9 | round(0, 'floor') }}
