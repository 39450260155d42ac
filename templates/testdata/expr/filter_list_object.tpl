${{ parameters.nested.a | list }}
