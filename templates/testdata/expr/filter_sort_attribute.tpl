${{ parameters.users | sort(false, false, 'age') | join(' ', 'name') }}
