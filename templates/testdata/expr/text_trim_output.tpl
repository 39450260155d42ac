a   ${{- parameters.name -}}   b
