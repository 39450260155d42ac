${{ parameters.name.explode() }}
