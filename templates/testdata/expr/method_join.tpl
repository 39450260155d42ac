${{ parameters.tags.join(' & ') }}
