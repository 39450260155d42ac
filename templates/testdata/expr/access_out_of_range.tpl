${{ parameters.tags[5] }}
