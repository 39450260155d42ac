${{ range(3) }} ${{ range(1, 10, 4) }}
