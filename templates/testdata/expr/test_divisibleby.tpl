${{ 9 is divisibleby(3) }}
