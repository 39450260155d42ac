${{ '3.75abc' | float }}
