${{ parameters.repoUrl | parseRepoUrl }}
