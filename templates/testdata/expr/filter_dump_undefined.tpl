[${{ parameters.missing | dump }}]
