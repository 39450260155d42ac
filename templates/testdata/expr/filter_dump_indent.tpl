${{ parameters.users[0] | dump(2) }}
