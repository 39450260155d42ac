${{ parameters.replicas }}
