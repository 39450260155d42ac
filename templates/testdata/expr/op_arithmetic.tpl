${{ parameters.replicas * 2 + 1 }}
