${{ parameters.tags | length }} ${{ parameters.name | length }} ${{ parameters.nested | length }} ${{ parameters.missing | length }}
