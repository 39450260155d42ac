${{ 'john smith' | replace(r/(\w+) (\w+)/, '$2, $1') }}
