list:
  {%- for t in parameters.tags %}
  - ${{ t }}
  {%- endfor %}
end
