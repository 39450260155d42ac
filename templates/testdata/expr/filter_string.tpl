${{ parameters.replicas | string }}
