${{ parameters.repoUrl | projectSlug }}
