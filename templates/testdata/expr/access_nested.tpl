${{ parameters.nested.a.b }}
