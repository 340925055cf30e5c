{{/* The pod template of the Deployment or DaemonSet. */}}
{{- define "torwatch.podTemplate" -}}
{{- $udp := include "torwatch.inputPort" (list "syslog_udp" .) }}
{{- $tcp := include "torwatch.inputPort" (list "syslog_tcp" .) }}
{{- $secret := include "torwatch.credentialsSecret" . }}
metadata:
  labels:
    {{- include "torwatch.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
    checksum/credentials: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "torwatch.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.serviceAccount.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  containers:
    - name: torwatch
      image: {{ include "torwatch.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args: ["run", "--config", "/etc/torwatch/torwatch.yaml"]
      {{- with .Values.env }}
      env:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ include "torwatch.httpPort" . }}
          protocol: TCP
        {{- if $udp }}
        - name: syslog-udp
          containerPort: {{ $udp }}
          protocol: UDP
        {{- end }}
        {{- if $tcp }}
        - name: syslog-tcp
          containerPort: {{ $tcp }}
          protocol: TCP
        {{- end }}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          scheme: {{ include "torwatch.scheme" . }}
        {{- toYaml .Values.livenessProbe | nindent 8 }}
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
          scheme: {{ include "torwatch.scheme" . }}
        {{- toYaml .Values.readinessProbe | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: /etc/torwatch/torwatch.yaml
          subPath: torwatch.yaml
          readOnly: true
        - name: state
          mountPath: {{ required "config.state_dir is required" .Values.config.state_dir }}
        - name: tmp
          mountPath: /tmp
        {{- if $secret }}
        - name: credentials
          mountPath: {{ .Values.credentials.mountPath }}
          readOnly: true
        {{- end }}
        {{- if include "torwatch.daemonSet" . }}
        {{- range $i, $path := .Values.follower.hostLogPaths }}
        - name: host-logs-{{ $i }}
          mountPath: {{ $path }}
          readOnly: true
        {{- end }}
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "torwatch.fullname" . }}
    - name: state
      {{- if include "torwatch.persistent" . }}
      persistentVolumeClaim:
        claimName: {{ default (printf "%s-state" (include "torwatch.fullname" .)) .Values.persistence.existingClaim }}
      {{- else }}
      emptyDir: {}
      {{- end }}
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- if $secret }}
    - name: credentials
      secret:
        secretName: {{ $secret }}
        defaultMode: 0440
    {{- end }}
    {{- if include "torwatch.daemonSet" . }}
    {{- range $i, $path := .Values.follower.hostLogPaths }}
    - name: host-logs-{{ $i }}
      hostPath:
        path: {{ $path }}
        type: Directory
    {{- end }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
