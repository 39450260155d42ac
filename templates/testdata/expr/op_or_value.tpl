${{ secrets.MISSING or false }}
