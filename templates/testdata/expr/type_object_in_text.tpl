nested=${{ parameters.nested }}
