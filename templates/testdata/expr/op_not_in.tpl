${{ 'rust' not in parameters.tags }}
