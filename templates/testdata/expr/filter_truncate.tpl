${{ parameters.title | truncate(9) }}
