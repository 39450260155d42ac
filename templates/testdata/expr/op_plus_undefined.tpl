${{ parameters.missing + "/x" }}
