${{ parameters.gitlabUrl | parseRepoUrl }}
