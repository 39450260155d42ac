${{ parameters.name ~ "/" ~ parameters.tags }}
