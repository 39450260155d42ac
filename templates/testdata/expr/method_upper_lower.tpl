${{ parameters.name.toUpperCase() }} ${{ 'ABC'.toLowerCase() }}
