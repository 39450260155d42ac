${{ parameters.tags }}
