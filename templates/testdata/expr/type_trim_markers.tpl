${{- parameters.replicas -}}
