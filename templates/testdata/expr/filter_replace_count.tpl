${{ 'aaaa' | replace('a', 'b', 2) }}
