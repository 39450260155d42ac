${{ '<b>' | safe }}
