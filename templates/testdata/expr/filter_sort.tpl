${{ parameters.words | sort }}
