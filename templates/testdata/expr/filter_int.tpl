${{ '42.9' | int }} ${{ parameters.ratio | int }}
