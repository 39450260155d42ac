 ${{ parameters.replicas }}
