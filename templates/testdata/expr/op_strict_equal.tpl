${{ parameters.name === 'my-service' }}
