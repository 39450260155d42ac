replicas: ${{ parameters.replicas }}
