${{ parameters.negative | abs }}
