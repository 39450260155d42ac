${{parameters.replicas}}
