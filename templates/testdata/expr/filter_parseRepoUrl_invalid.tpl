${{ 'github.com?owner=acme' | parseRepoUrl }}
