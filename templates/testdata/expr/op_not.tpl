${{ not parameters.enabled }}
