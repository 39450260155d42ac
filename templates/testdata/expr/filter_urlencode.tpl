${{ 'a b&c=d/é' | urlencode }}
