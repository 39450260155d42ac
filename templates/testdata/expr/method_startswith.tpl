${{ parameters.owner.startsWith('group:') }}
