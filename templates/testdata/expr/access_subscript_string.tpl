${{ parameters["name"] }}
