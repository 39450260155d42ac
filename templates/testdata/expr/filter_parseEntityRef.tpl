${{ parameters.owner | parseEntityRef }}
