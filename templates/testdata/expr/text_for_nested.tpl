{% for u in parameters.users %}{% for t in parameters.tags %}${{ u.name }}-${{ t }} {% endfor %}{% endfor %}
