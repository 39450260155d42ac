${{ 'it\'s "q"\tx' }}
