${{ parameters.count === 42 }}
