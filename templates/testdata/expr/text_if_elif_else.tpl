{% if parameters.replicas > 5 %}big{% elif parameters.replicas > 2 %}medium{% else %}small{% endif %}
