${{ parameters.name | upper }}
