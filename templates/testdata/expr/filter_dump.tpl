${{ parameters.nested | dump }}
