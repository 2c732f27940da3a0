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
terminationGracePeriodSeconds, computed as src/service/shutdown.ts computes the relay's own shutdown
budget: drain + the SendTaskFailure calls on the wire (every attempt with its timeout, and the
retries' longest backoff) + settling (three SQS calls of at most 5 s) + the trace flush + 2 s.
*/}}
{{- define "relay.gracePeriodSeconds" -}}
{{- $c := .Values.config -}}
{{- $backoff := index (list 0 0 500 1500 3500 7500 15500 31500 51500 71500 91500) (int $c.sfnMaxAttempts) -}}
{{- $ms := add (mul $c.sfnMaxAttempts $c.sfnRequestTimeoutMs) $backoff 15000 .Values.otel.exportTimeoutMs -}}
{{- add $c.drainTimeoutSeconds (div (add $ms 999) 1000) 2 -}}
{{- end -}}

{{/*
The memory limit in MiB (resources.limits.memory: Mi, Gi, M, G or bytes), 0 when none is set.
*/}}
{{- define "relay.memoryLimitMiB" -}}
{{- $m := toString (dig "limits" "memory" "" .Values.resources) -}}
{{- if hasSuffix "Gi" $m -}}{{ mul (trimSuffix "Gi" $m | int) 1024 }}
{{- else if hasSuffix "Mi" $m -}}{{ trimSuffix "Mi" $m | int }}
{{- else if hasSuffix "G" $m -}}{{ div (mul (trimSuffix "G" $m | int) 1000000000) 1048576 }}
{{- else if hasSuffix "M" $m -}}{{ div (mul (trimSuffix "M" $m | int) 1000000) 1048576 }}
{{- else if $m -}}{{ div ($m | int64) 1048576 }}
{{- else -}}0{{- end -}}
{{- end -}}

{{/*
NODE_OPTIONS from the memory limit: the old generation gets half of it (the rest: the young
generation, code, the dedup store's arrays, buffers), so V8 collects before the kubelet kills.
*/}}
{{- define "relay.nodeOptions" -}}
{{- $limit := include "relay.memoryLimitMiB" . | int -}}
--max-semi-space-size=8{{ if gt $limit 0 }} --max-old-space-size={{ div $limit 2 }}{{ end }}
{{- end -}}

{{/* DEDUP_MEMORY_MAX_MB: the value, or 15 % of the memory limit (at least 8), or the relay's default. */}}
{{- define "relay.dedupMemoryMaxMb" -}}
{{- $limit := include "relay.memoryLimitMiB" . | int -}}
{{- if .Values.config.dedupMemoryMaxMb -}}{{ .Values.config.dedupMemoryMaxMb }}
{{- else if gt $limit 0 -}}{{ max 8 (div (mul $limit 15) 100) }}
{{- else -}}40{{- end -}}
{{- end -}}

{{/*
The Step Functions actions the role needs: states:SendTaskFailure always, SendTaskSuccess and
SendTaskHeartbeat only when config.callbackKinds enables them (nothing more is granted or named).
*/}}
{{- define "relay.sfnActions" -}}
{{- $kinds := splitList "," .Values.config.callbackKinds -}}
{{- $actions := list "states:SendTaskFailure" -}}
{{- if has "success" $kinds }}{{ $actions = append $actions "states:SendTaskSuccess" }}{{ end -}}
{{- if has "heartbeat" $kinds }}{{ $actions = append $actions "states:SendTaskHeartbeat" }}{{ end -}}
{{- join ", " $actions -}}
{{- end -}}
