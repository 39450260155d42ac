${{ parameters.replicas > 2 and parameters.replicas <= 3 }}
