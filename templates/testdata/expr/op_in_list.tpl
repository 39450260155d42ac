${{ 'go' in parameters.tags }}
