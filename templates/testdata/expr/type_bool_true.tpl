${{ parameters.enabled }}
