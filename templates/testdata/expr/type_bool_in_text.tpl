enabled=${{ parameters.enabled }}, disabled=${{ parameters.disabled }}
