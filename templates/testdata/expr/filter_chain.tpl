${{ parameters.name | replace('-', ' ') | title | replace(' ', '') }}
