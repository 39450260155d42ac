${{ parameters.repoUrl | parseRepoUrl | pick('repo') }}
