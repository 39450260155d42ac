${{ parameters.name.slice(3) }} ${{ parameters.name.slice(-7, -3) }}
