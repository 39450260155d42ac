${{ parameters.tags.includes('api') }}
