${{ (parameters.missing | parseRepoUrl).repo if parameters.missing else 'none' }}
