${{ parameters.title | truncate(9, true, '~') }}
