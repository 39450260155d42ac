${{ 'jane' | parseEntityRef }}
