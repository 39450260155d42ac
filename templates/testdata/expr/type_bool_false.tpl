${{ parameters.disabled }}
