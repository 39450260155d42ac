${{ parameters.name | default(value='x') }}
