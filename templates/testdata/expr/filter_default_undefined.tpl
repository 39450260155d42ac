${{ parameters.missing | default('fallback') }}
