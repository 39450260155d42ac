{{/* The release's name for its objects, at most 63 characters. */}}
{{- define "rigger.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's object name: rigger-server, rigger-worker-github. */}}
{{- define "rigger.name" -}}
{{- printf "%s-%s" (include "rigger.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rigger.selectorLabels" -}}
app.kubernetes.io/name: rigger
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "rigger.labels" -}}
{{ include "rigger.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* image: repository@digest, else repository:tag (default appVersion). */}}
{{- define "rigger.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
rigger.check refuses values that would hand a component another's
integration settings or secrets, or split a task's workspace.
*/}}
{{- define "rigger.check" -}}
{{- $v := .Values -}}
{{- if hasKey (default dict $v.config) "integrations" -}}
{{- fail "config.integrations: every component would read it; put each integration under its worker (workers.<name>.config.integrations.<name>), and webhook-only GitHub hosts under server.config" -}}
{{- end -}}
{{- $si := get (default dict $v.server.config) "integrations" | default dict -}}
{{- range $k, $val := $si -}}
{{- if ne $k "github" -}}
{{- fail (printf "server.config.integrations.%s: the API server holds no integration's secrets; configure it under workers.%s.config" $k $k) -}}
{{- end -}}
{{- range $i, $h := $val -}}
{{- if or (get $h "apps") (get $h "token") -}}
{{- fail (printf "server.config.integrations.github[%d]: the server only verifies webhooks (host, webhookSecret); apps and token belong to workers.github.config" $i) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $shared := false -}}
{{- range $name := list "default" "github" "aws" "terraform" -}}
{{- $w := get $v.workers $name -}}
{{- if $w.enabled -}}
{{- if ne $name "default" }}{{ $shared = true }}{{ end -}}
{{- range $other, $_ := (get (default dict $w.config) "integrations" | default dict) -}}
{{- if ne $other $name -}}
{{- fail (printf "workers.%s.config.integrations.%s: a worker reads only its own integration's section (the %s worker never sees %s's settings or secrets); move it to workers.%s.config" $name $other $name $other $other) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $shared (not $v.workspaces.existingClaim) -}}
{{- fail "workspaces.existingClaim: integration workers run steps of the same tasks as the default worker, so they must share a ReadWriteMany volume for scaffolder.workspaceRoot" -}}
{{- end -}}
{{- end -}}

{{/*
rigger.config renders one component's rigger.yaml: the shared config, the
component's own config, then the keys the chart wires (which win). Secrets
are ${VAR} references to environment variables set from Secrets. The data
directory is a subdirectory of the emptyDir, so rigger creates it and may
make it private (it cannot chmod a volume's root, owned by root).
*/}}
{{- define "rigger.config" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $t := $v.temporal -}}
{{- $server := dict "listen" (printf "0.0.0.0:%d" (int $v.server.port)) "baseUrl" $v.baseUrl "dataDir" "/var/lib/rigger/data" "logFormat" "json" -}}
{{- if and $v.metrics.enabled (eq .component "server") -}}
{{- $_ := set $server "metricsListen" (printf "0.0.0.0:%d" (int $v.metrics.port)) -}}
{{- end -}}
{{- $temporal := dict "address" $t.address "namespace" $t.namespace -}}
{{- if $t.uiUrl }}{{ $_ := set $temporal "uiUrl" $t.uiUrl }}{{ end -}}
{{- if $t.tls.enabled -}}
{{- $tls := dict "enabled" true -}}
{{- if and $t.tls.existingSecret $t.tls.caKey }}{{ $_ := set $tls "caFile" (printf "/etc/rigger/temporal-tls/%s" $t.tls.caKey) }}{{ end -}}
{{- if and $t.tls.existingSecret $t.tls.certKey }}{{ $_ := set $tls "certFile" (printf "/etc/rigger/temporal-tls/%s" $t.tls.certKey) }}{{ end -}}
{{- if and $t.tls.existingSecret $t.tls.keyKey }}{{ $_ := set $tls "keyFile" (printf "/etc/rigger/temporal-tls/%s" $t.tls.keyKey) }}{{ end -}}
{{- if $t.tls.serverName }}{{ $_ := set $tls "serverName" $t.tls.serverName }}{{ end -}}
{{- $_ := set $temporal "tls" $tls -}}
{{- end -}}
{{- if $t.apiKey.existingSecret }}{{ $_ := set $temporal "apiKey" "${TEMPORAL_API_KEY}" }}{{ end -}}
{{- if $v.secrets.payloadKeys -}}
{{- $keys := list -}}
{{- range $i, $k := $v.secrets.payloadKeys -}}
{{- $keys = append $keys (dict "id" $k.id "key" (printf "${RIGGER_PAYLOAD_KEY_%d}" $i)) -}}
{{- end -}}
{{- $_ := set $temporal "payloadKeys" $keys -}}
{{- end -}}
{{- $database := dict "driver" "postgres" "url" "${RIGGER_DATABASE_URL}" "maxOpenConns" (int $v.database.maxOpenConns) -}}
{{- $scaffolder := dict "workspaceRoot" "/var/lib/rigger/workspaces" "secretKey" "${RIGGER_SECRET_KEY}" "runSigningKey" "${RIGGER_RUN_SIGNING_KEY}" -}}
{{- $wired := dict "server" $server "temporal" $temporal "database" $database "scaffolder" $scaffolder -}}
{{- $cfg := mustMergeOverwrite (deepCopy (default dict $v.config)) (deepCopy (default dict .values.config)) $wired -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* Environment every component gets: the core Secret's keys. */}}
{{- define "rigger.coreEnv" -}}
{{- $v := .root.Values -}}
{{- $s := $v.secrets -}}
- name: RIGGER_CONFIG
  value: /etc/rigger/config/rigger.yaml
- name: RIGGER_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ $s.existingSecret | quote }}, key: {{ $s.keys.databaseUrl | quote }}}
- name: RIGGER_SECRET_KEY
  valueFrom:
    secretKeyRef: {name: {{ $s.existingSecret | quote }}, key: {{ $s.keys.secretKey | quote }}}
- name: RIGGER_RUN_SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $s.existingSecret | quote }}
      key: {{ if and (ne .component "server") $s.keys.runSigningPublicKey }}{{ $s.keys.runSigningPublicKey | quote }}{{ else }}{{ $s.keys.runSigningKey | quote }}{{ end }}
{{- range $i, $k := $s.payloadKeys }}
- name: RIGGER_PAYLOAD_KEY_{{ $i }}
  valueFrom:
    secretKeyRef: {name: {{ $s.existingSecret | quote }}, key: {{ $k.key | quote }}}
{{- end }}
{{- if $v.temporal.apiKey.existingSecret }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.temporal.apiKey.existingSecret | quote }}, key: {{ $v.temporal.apiKey.key | quote }}}
{{- end }}
{{- $own := .values -}}
{{- range $name, $key := $own.env }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef: {name: {{ required (printf "%s.existingSecret is required with %s.env" $.path $.path) $own.existingSecret | quote }}, key: {{ $key | quote }}}
{{- end }}
{{- end -}}

{{/* The pod spec every component shares; .args is the container's args. */}}
{{- define "rigger.podSpec" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $c := .values -}}
serviceAccountName: {{ include "rigger.name" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- if kindIs "bool" $c.hostUsers }}
hostUsers: {{ $c.hostUsers }}
{{- end }}
{{- with $v.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $c.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
{{- if $c.topologySpreadConstraints }}
{{- toYaml $c.topologySpreadConstraints | nindent 2 }}
{{- else }}
{{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: 1
    topologyKey: {{ . }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{- include "rigger.selectorLabels" $ | nindent 8 }}
{{- end }}
{{- end }}
terminationGracePeriodSeconds: 60
containers:
  - name: rigger
    image: {{ include "rigger.image" (dict "root" $root "image" .image) | quote }}
    imagePullPolicy: {{ .image.pullPolicy }}
    args: {{- toYaml .args | nindent 6 }}
    env: {{- include "rigger.coreEnv" . | nindent 6 }}
    securityContext: {{- toYaml $v.containerSecurityContext | nindent 6 }}
    resources: {{- toYaml $c.resources | nindent 6 }}
    {{- with .container }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
    volumeMounts:
      # A directory mount, not subPath: a ConfigMap change reaches the file.
      - {name: config, mountPath: /etc/rigger/config, readOnly: true}
      - {name: tmp, mountPath: /tmp}
      - {name: data, mountPath: /var/lib/rigger}
      - {name: workspaces, mountPath: /var/lib/rigger/workspaces}
      {{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
      - {name: temporal-tls, mountPath: /etc/rigger/temporal-tls, readOnly: true}
      {{- end }}
volumes:
  - name: config
    configMap:
      name: {{ include "rigger.fullname" $root }}-config
      items:
        - {key: {{ .component }}.yaml, path: rigger.yaml}
  - name: tmp
    emptyDir: {sizeLimit: 1Gi}
  - name: data
    emptyDir: {sizeLimit: 1Gi}
  - name: workspaces
    {{- if $v.workspaces.existingClaim }}
    persistentVolumeClaim: {claimName: {{ $v.workspaces.existingClaim | quote }}}
    {{- else }}
    emptyDir: {sizeLimit: {{ $v.workspaces.sizeLimit }}}
    {{- end }}
  {{- if and $v.temporal.tls.enabled $v.temporal.tls.existingSecret }}
  - name: temporal-tls
    secret:
      secretName: {{ $v.temporal.tls.existingSecret | quote }}
      defaultMode: 0440
  {{- end }}
{{- end -}}

{{/*
The checksum of a component's rigger.yaml less the settings rigger reloads
live (README, Live configuration; cmd/rigger/reload.go's hooks): with
configChange: reload, a change to any other setting still rolls the pods,
since a running rigger would refuse it until a restart.
*/}}
{{- define "rigger.restartOnlyChecksum" -}}
{{- $c := fromYaml . -}}
{{- range $section, $keys := dict "scaffolder" (list "allowedHosts" "allowPrivateNetworks" "templates" "disabledActions" "disabledActionsPolicy") "catalog" (list "rules" "reading" "locations" "examples") "permission" (list "admins" "policyFile" "policyFiles") "audit" (list "alerts") -}}
{{- $s := get $c $section -}}
{{- if kindIs "map" $s -}}
{{- range $keys }}{{ $_ := unset $s . }}{{ end -}}
{{- if empty $s }}{{ $_ := unset $c $section }}{{ end -}}
{{- end -}}
{{- end -}}
{{- toYaml $c | sha256sum -}}
{{- end -}}
