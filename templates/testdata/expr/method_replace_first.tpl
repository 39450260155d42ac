${{ 'a-b-c'.replace('-', '+') }}
