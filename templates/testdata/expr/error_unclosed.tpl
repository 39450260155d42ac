${{ parameters.name 
