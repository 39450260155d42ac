${{ parameters.replicas is not odd }}
