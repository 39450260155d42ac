{%- if values.componentName %}
  {%- set name = values.componentName %}
{%- else %}
  {%- set name = values.component_id %}
{% endif -%}
name: ${{ name }}

