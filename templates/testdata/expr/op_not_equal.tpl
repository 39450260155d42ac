${{ parameters.name != 'other' }}
