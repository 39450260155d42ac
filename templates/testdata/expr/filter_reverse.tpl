${{ parameters.name | reverse }} ${{ parameters.tags | reverse }}
