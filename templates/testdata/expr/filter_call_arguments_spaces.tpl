${{ parameters.name|replace( '-' , '.' )|upper }}
