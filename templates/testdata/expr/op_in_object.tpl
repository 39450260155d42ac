${{ 'a' in parameters.nested }}
