${{ -parameters.replicas }}
