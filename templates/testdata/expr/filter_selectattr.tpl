${{ parameters.users | selectattr('admin') | join(',', 'name') }}
