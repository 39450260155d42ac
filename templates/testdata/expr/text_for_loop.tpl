{% for tag in parameters.tags %}${{ loop.index }}/${{ loop.length }}:${{ tag }}{% if not loop.last %}, {% endif %}{% endfor %}
