${{ '<a href="x">&</a>' | escape }}
