[${{ parameters.missing if parameters.missing }}]
