${{ parameters.tags[1] }}
