${{ parameters.owner.split('/') }}
