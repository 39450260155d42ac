${{ parameters.enabled !== true }}
