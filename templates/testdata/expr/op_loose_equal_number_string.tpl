${{ parameters.count == 42 }}
