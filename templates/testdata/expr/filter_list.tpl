${{ 'abc' | list }}
