{{/* Full name: release-chart, shortened to the 63 characters Kubernetes allows. */}}
{{- define "relay.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "relay.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "relay.labels" -}}
{{ include "relay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "relay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
terminationGracePeriodSeconds, computed as src/shutdown.ts computes the relay's own shutdown
budget: drain + the SendTaskFailure calls on the wire (every attempt with its timeout, and the
retries' longest backoff) + settling (three SQS calls of at most 5 s) + the trace flush + 2 s.
*/}}
{{- define "relay.gracePeriodSeconds" -}}
{{- $c := .Values.config -}}
{{- $backoff := index (list 0 0 500 1500 3500 7500 15500 31500 51500 71500 91500) (int $c.sfnMaxAttempts) -}}
{{- $ms := add (mul $c.sfnMaxAttempts $c.sfnRequestTimeoutMs) $backoff 15000 .Values.otel.exportTimeoutMs -}}
{{- add $c.drainTimeoutSeconds (div (add $ms 999) 1000) 2 -}}
{{- end -}}
