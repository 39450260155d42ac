${{ parameters.missing | d(5) }}
