${{ 'hELLO world' | capitalize }}
