x{% endfor %}
