[${{ parameters.empty | default('fallback') }}]
