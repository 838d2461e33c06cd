{{/* One egress rule: (dict "to" peers "ports" ports "protocols" (list "TCP")) */}}
{{- define "rpm.egressRule" -}}
- ports:
    {{- range $p := .ports }}
    {{- range $proto := ($.protocols | default (list "TCP")) }}
    - port: {{ $p }}
      protocol: {{ $proto }}
    {{- end }}
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* One ingress rule: (dict "from" peers "port" name-or-number) */}}
{{- define "rpm.ingressRule" -}}
- ports:
    - port: {{ .port }}
      protocol: TCP
  {{- with .from }}
  from:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
The whole policy of one product pod group.
(dict "root" $ "component" "bridge" "kafka" true "database" true "mqtt" false "metrics" true "console" false
      "listen" (dict "port" name "from" peers))
*/}}
{{- define "rpm.networkPolicy" -}}
{{- $np := .root.Values.networkPolicy -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "rpm.fullname" .root }}-{{ .component }}
  labels:
    {{- include "rpm.labels" (dict "root" .root "component" .component) | nindent 4 }}
  {{- with .annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  podSelector:
    matchLabels:
      {{- include "rpm.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    {{- if .metrics }}
    {{- include "rpm.ingressRule" (dict "from" $np.metricsFrom "port" "metrics") | nindent 4 }}
    {{- end }}
    {{- if .console }}
    {{- include "rpm.ingressRule" (dict "from" $np.consoleFrom "port" "http") | nindent 4 }}
    {{- end }}
    {{- with .listen }}
    {{- include "rpm.ingressRule" (dict "from" .from "port" .port) | nindent 4 }}
    {{- end }}
    {{- if not (or .metrics .console .listen) }} []{{- end }}
  egress:
    {{- include "rpm.egressRule" (dict "ports" $np.dnsPorts "protocols" (list "UDP" "TCP")) | nindent 4 }}
    {{- if .kafka }}
    {{- include "rpm.egressRule" (dict "ports" $np.kafka.ports "to" $np.kafka.to) | nindent 4 }}
    {{- end }}
    {{- if .database }}
    {{- include "rpm.egressRule" (dict "ports" $np.database.ports "to" $np.database.to) | nindent 4 }}
    {{- end }}
    {{- if .mqtt }}
    {{- if .root.Values.mqtt.url }}
    {{- include "rpm.egressRule" (dict "ports" $np.mqtt.ports "to" $np.mqtt.to) | nindent 4 }}
    {{- else }}
    {{- $broker := list (dict "podSelector" (dict "matchLabels" (fromYaml (include "rpm.selectorLabels" (dict "root" .root "component" "mosquitto"))))) }}
    {{- include "rpm.egressRule" (dict "ports" (list 1883) "to" $broker) | nindent 4 }}
    {{- end }}
    {{- end }}
{{- end -}}
