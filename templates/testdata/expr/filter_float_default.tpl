${{ 'abc' | float(1.5) }}
