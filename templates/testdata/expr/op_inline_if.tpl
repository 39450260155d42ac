${{ parameters.missing if parameters.missing else parameters.name }}
