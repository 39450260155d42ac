${{ steps['fetch-base'].output.targetPath }}
