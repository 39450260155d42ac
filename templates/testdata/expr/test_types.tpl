${{ parameters.replicas is number }} ${{ parameters.name is string }} ${{ parameters.nested is mapping }}
