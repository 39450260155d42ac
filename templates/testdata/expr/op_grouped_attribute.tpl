${{ (parameters.repoUrl | parseRepoUrl).owner }}
