${{ parameters.tags | join(',') }}
