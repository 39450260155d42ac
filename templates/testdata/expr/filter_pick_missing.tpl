${{ parameters.nested | pick('x.y') }}
