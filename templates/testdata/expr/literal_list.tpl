${{ [1, 'two', parameters.enabled] }}
