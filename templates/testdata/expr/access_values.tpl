${{ values.component_id }}
