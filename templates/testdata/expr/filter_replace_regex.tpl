${{ 'Hello World 42' | replace(r/[^a-z0-9]+/gi, '-') }}
