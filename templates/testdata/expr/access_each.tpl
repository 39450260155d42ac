${{ each.key }}:${{ each.value.name }}
