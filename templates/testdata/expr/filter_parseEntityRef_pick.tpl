${{ parameters.component | parseEntityRef | pick('name') }}
