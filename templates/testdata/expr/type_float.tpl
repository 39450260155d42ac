${{ parameters.ratio }}
