{{- define "sizer.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sizer.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sizer.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sizer.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sizer.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sizer.accessConfigMap" -}}
{{- default (printf "%s-access" (include "sizer.fullname" .)) .Values.access.existingConfigMap -}}
{{- end -}}

{{/* Environment shared by the bot and the worker: settings by their documented names. */}}
{{- define "sizer.env" -}}
- name: SLACK_BOT_TOKEN
  valueFrom: {secretKeyRef: {name: {{ .Values.slack.existingSecret }}, key: {{ .Values.slack.botTokenKey }}}}
{{- if eq .Values.mode "socket" }}
- name: SLACK_APP_TOKEN
  valueFrom: {secretKeyRef: {name: {{ .Values.slack.existingSecret }}, key: {{ .Values.slack.appTokenKey }}}}
{{- else }}
- name: SLACK_SIGNING_SECRET
  valueFrom: {secretKeyRef: {name: {{ .Values.slack.existingSecret }}, key: {{ .Values.slack.signingSecretKey }}}}
{{- end }}
{{- if .Values.redis.bundled.enabled }}
- name: REDIS_URL
  value: {{ printf "redis://%s-redis:6379/0" (include "sizer.fullname" .) | quote }}
{{- else }}
{{- $url := required "redis.external.url is required when redis.bundled.enabled is false" .Values.redis.external.url }}
{{- if .Values.redis.external.passwordSecret }}
- name: REDIS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.redis.external.passwordSecret }}, key: {{ .Values.redis.external.passwordKey }}}}
- name: REDIS_URL
  value: {{ regexReplaceAll "^(rediss?://)" $url "${1}:$$(REDIS_PASSWORD)@" | quote }}
{{- else }}
- name: REDIS_URL
  value: {{ $url | quote }}
{{- end }}
{{- end }}
- name: SIZER_REDIS_PREFIX
  value: {{ .Values.redis.prefix | quote }}
- name: PROMETHEUS_URL
  value: {{ .Values.prometheus.url | quote }}
- name: SIZER_ACCESS_FILE
  value: /etc/sizer/access.yaml
- name: SIZER_WORK_DIR
  value: /var/lib/sizer
- name: SIZER_HEALTH_PORT
  value: {{ .Values.health.port | quote }}
- name: SIZER_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: SIZER_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- if .Values.llm.baseUrl }}
- name: OPENAI_BASE_URL
  value: {{ .Values.llm.baseUrl | quote }}
- name: SIZER_LLM_MODEL
  value: {{ .Values.llm.model | quote }}
{{- if .Values.llm.existingSecret }}
- name: OPENAI_API_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.llm.existingSecret }}, key: {{ .Values.llm.apiKeyKey }}}}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.bot.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "sizer.volumes" -}}
- name: access
  configMap: {name: {{ include "sizer.accessConfigMap" . }}}
- name: work
{{- if .Values.workDir.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (printf "%s-work" (include "sizer.fullname" .)) .Values.workDir.persistence.existingClaim }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "sizer.volumeMounts" -}}
- {name: access, mountPath: /etc/sizer/access.yaml, subPath: access.yaml, readOnly: true}
- {name: work, mountPath: /var/lib/sizer}
- {name: tmp, mountPath: /tmp}
{{- end -}}
