${{ parameters.tags.length }}
