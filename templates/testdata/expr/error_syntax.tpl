${{ parameters.name + }}
