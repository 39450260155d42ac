${{ parameters.empty or parameters.name }}
