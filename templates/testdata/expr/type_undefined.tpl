${{ parameters.missing }}
