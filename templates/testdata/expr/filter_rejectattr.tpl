${{ parameters.users | rejectattr('admin') | join(',', 'name') }}
