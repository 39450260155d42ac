${{ parameters.missing and (parameters.missing | parseRepoUrl) }}
