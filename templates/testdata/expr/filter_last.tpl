${{ parameters.tags | last }} ${{ parameters.name | last }}
