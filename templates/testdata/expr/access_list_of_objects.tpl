${{ parameters.users[2].name }}
