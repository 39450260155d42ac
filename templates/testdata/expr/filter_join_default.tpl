${{ parameters.tags | join }}
