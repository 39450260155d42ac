${{ parameters.name }}
