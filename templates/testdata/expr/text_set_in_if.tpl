{% if parameters.enabled %}{% set x = 1 %}{% else %}{% set x = 2 %}{% endif %}x=${{ x }}
