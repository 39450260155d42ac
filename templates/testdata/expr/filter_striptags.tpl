${{ parameters.description | striptags }}
