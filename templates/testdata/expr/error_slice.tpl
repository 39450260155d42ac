${{ parameters.tags[0:1] }}
