${{ parameters.name | nosuchfilter }}
