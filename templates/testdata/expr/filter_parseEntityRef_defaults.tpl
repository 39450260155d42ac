${{ 'jane' | parseEntityRef({defaultKind: 'user', defaultNamespace: 'people'}) }}
