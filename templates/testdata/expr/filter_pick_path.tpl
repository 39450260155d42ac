${{ parameters | pick('nested.list[1]') }}
