${{ parameters.empty | default('fallback', true) }}
