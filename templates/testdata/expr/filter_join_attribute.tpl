${{ parameters.users | join(', ', 'name') }}
