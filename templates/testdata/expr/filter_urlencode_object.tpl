${{ {q: 'x y', n: 1} | urlencode }}
