${{ parameters.name | replace('-', '_') }}
