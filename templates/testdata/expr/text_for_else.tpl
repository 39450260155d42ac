{% for x in parameters.missing %}${{ x }}{% else %}nothing{% endfor %}
