${{ parameters.replicas | replace(3, 'three') }}
