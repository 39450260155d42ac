${{ parameters.name + "-" + parameters.replicas }}
