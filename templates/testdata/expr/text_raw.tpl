{% raw %}${{ not rendered }} {% if %}{% endraw %}
