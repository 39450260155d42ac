[${{ parameters.text | trim }}]
