run: echo ${{ github.sha }}
