${{ nosuch() }}
