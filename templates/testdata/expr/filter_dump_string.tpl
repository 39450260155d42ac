${{ parameters.description | dump }}
