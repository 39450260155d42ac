tags=${{ parameters.tags }}
