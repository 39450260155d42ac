${{ none }}
