{% for k, v in parameters.nested.a %}${{ k }}=${{ v }}{% endfor %}
