${{ parameters.tags | first }} ${{ parameters.name | first }}
