${{ parameters.nested }}
