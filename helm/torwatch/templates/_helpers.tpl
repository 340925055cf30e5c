{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "torwatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects. */}}
{{- define "torwatch.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "torwatch.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "torwatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "torwatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "torwatch.labels" -}}
helm.sh/chart: {{ include "torwatch.chart" . }}
{{ include "torwatch.selectorLabels" . }}
app.kubernetes.io/component: {{ .Values.mode }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "torwatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "torwatch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "torwatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The port of a host:port or [v6]:port address; fails on anything else. */}}
{{- define "torwatch.port" -}}
{{- $port := regexFind "[0-9]+$" . }}
{{- if not (regexMatch "^(\\[[0-9a-fA-F:.]+\\]|[^:\\[\\]]+):[0-9]+$" .) }}
{{- fail (printf "config: %q is not host:port" .) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* The HTTP port, from config.listen. */}}
{{- define "torwatch.httpPort" -}}
{{- include "torwatch.port" (required "config.listen is required" .Values.config.listen) }}
{{- end }}

{{/* The listen port of the first input of the given type (syslog_udp or syslog_tcp), or "". */}}
{{- define "torwatch.inputPort" -}}
{{- $type := index . 0 }}
{{- $ctx := index . 1 }}
{{- $found := "" }}
{{- range ($ctx.Values.config.inputs | default list) }}
{{- if and (not $found) (eq (toString .type) $type) .listen }}
{{- $found = include "torwatch.port" .listen }}
{{- end }}
{{- end }}
{{- $found }}
{{- end }}

{{/* The Secret holding the credential files, or "" when there is none. */}}
{{- define "torwatch.credentialsSecret" -}}
{{- if .Values.credentials.existingSecret }}
{{- .Values.credentials.existingSecret }}
{{- else if and .Values.credentials.create .Values.credentials.data }}
{{- printf "%s-credentials" (include "torwatch.fullname" .) }}
{{- end }}
{{- end }}

{{/* Whether config.http.tls is set: the probes then speak HTTPS. */}}
{{- define "torwatch.scheme" -}}
{{- if dig "http" "tls" "" (.Values.config | default dict) }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* "true" when state_dir is a PersistentVolumeClaim: persistence.enabled, or unset for standalone and leader. */}}
{{- define "torwatch.persistent" -}}
{{- $enabled := .Values.persistence.enabled }}
{{- if kindIs "bool" $enabled }}
{{- if $enabled }}true{{ end }}
{{- else if ne .Values.mode "follower" }}true
{{- end }}
{{- end }}

{{/* Whether the pods are a DaemonSet (followers, one per node) rather than a Deployment. */}}
{{- define "torwatch.daemonSet" -}}
{{- if and (eq .Values.mode "follower") (eq .Values.follower.workload "DaemonSet") }}true{{ end }}
{{- end }}

{{/* The leader's base URL, for followers. */}}
{{- define "torwatch.leaderUrl" -}}
{{- $l := .Values.follower.leader }}
{{- if $l.url }}
{{- $l.url | trimSuffix "/" }}
{{- else }}
{{- $svc := required "follower.leader.service (or follower.leader.url) is required with mode: follower" $l.service }}
{{- printf "%s://%s.%s.svc:%d" $l.scheme $svc (default .Release.Namespace $l.namespace) (int $l.port) }}
{{- end }}
{{- end }}

{{/* torwatch's configuration: config, with the sources of a follower replaced by the leader's lists (tor-exits, and
tor-relays with follower.relays) plus follower.extraSources. */}}
{{- define "torwatch.config" -}}
{{- $config := deepCopy .Values.config }}
{{- if eq .Values.mode "follower" }}
{{- $f := .Values.follower }}
{{- $url := include "torwatch.leaderUrl" . }}
{{- $sources := list (dict "name" "leader" "type" "torwatch" "url" $url "interval" $f.interval) }}
{{- if $f.relays }}
{{- $sources = append $sources (dict "name" "leader-relays" "type" "torwatch" "url" $url "list" "tor-relays" "interval" $f.interval) }}
{{- end }}
{{- if $f.leader.tokenFile }}
{{- range $sources }}
{{- $_ := set . "token_file" $f.leader.tokenFile }}
{{- end }}
{{- end }}
{{- $_ := set $config "sources" (concat $sources ($f.extraSources | default list)) }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* The TCP port of the leader's URL, for the followers' egress. */}}
{{- define "torwatch.leaderPort" -}}
{{- $url := include "torwatch.leaderUrl" . }}
{{- $port := regexFind "^[a-z]+://[^/]*:([0-9]+)" $url | regexFind "[0-9]+$" }}
{{- if $port }}{{ $port }}{{ else if hasPrefix "https://" $url }}443{{ else }}80{{ end }}
{{- end }}
