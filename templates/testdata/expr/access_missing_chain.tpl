${{ parameters.missing.deeper.still }}
