${{ parameters.name and parameters.replicas }}
