${{ secrets.TOKEN | parseRepoUrl }}
