{{/*
Names, labels, images and the shared pod spec of the product's components.
*/}}

{{- define "rpm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "rpm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "rpm.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "bridge") */}}
{{- define "rpm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rpm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component's resources: (dict "root" $ "component" "bridge") */}}
{{- define "rpm.labels" -}}
helm.sh/chart: {{ include "rpm.chart" .root }}
{{ include "rpm.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: rpm
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "rpm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "rpm.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
Hook Jobs run before the release's own resources exist, so they cannot use
a ServiceAccount the chart is about to create; they use an existing one.
*/}}
{{- define "rpm.hookServiceAccountName" -}}
{{- if .Values.serviceAccount.create -}}default{{- else -}}{{ include "rpm.serviceAccountName" . }}{{- end -}}
{{- end -}}

{{/* Image reference: (dict "root" $ "override" .Values.bridge.image) */}}
{{- define "rpm.image" -}}
{{- $img := .root.Values.image -}}
{{- $o := .override | default dict -}}
{{- $repo := $o.repository | default $img.repository -}}
{{- $digest := $o.digest | default $img.digest -}}
{{- $tag := $o.tag | default $img.tag | default .root.Chart.AppVersion -}}
{{- if $digest -}}{{ printf "%s@%s" $repo $digest }}{{- else -}}{{ printf "%s:%s" $repo $tag }}{{- end -}}
{{- end -}}

{{/*
A value as an environment string. Numbers may arrive as float64 (values
given as JSON); integral ones print as integers, never as "1e+06".
*/}}
{{- define "rpm.str" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{- define "rpm.mqttUrl" -}}
{{- if .Values.mqtt.url -}}
{{- .Values.mqtt.url -}}
{{- else -}}
{{- printf "mqtt://%s-mosquitto:1883" (include "rpm.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "rpm.databaseSecretName" -}}
{{- if .Values.database.url -}}{{ include "rpm.fullname" . }}-database{{- else -}}{{ .Values.database.existingSecret }}{{- end -}}
{{- end -}}

{{- define "rpm.databaseSecretKey" -}}
{{- if .Values.database.url -}}url{{- else -}}{{ .Values.database.secretKey }}{{- end -}}
{{- end -}}

{{/*
Environment of a product container as one name-keyed map, so a name is never
listed twice (server-side apply rejects duplicates). Precedence, lowest
first: the chart's settings, config.env, the component's env.
Input: (dict "root" $ "component" "bridge" "values" .Values.bridge "extra" (dict NAME EnvVarSource...))
*/}}
{{- define "rpm.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $vars := dict -}}
{{- $_ := set $vars "RPM_KAFKA_BOOTSTRAP" (dict "value" $v.kafka.bootstrapServers) -}}
{{- $_ := set $vars "RPM_DATABASE_URL" (dict "valueFrom" (dict "secretKeyRef" (dict "name" (include "rpm.databaseSecretName" $root) "key" (include "rpm.databaseSecretKey" $root)))) -}}
{{- $_ := set $vars "RPM_TOPIC_PREFIX" (dict "value" $v.config.topicPrefix) -}}
{{- $_ := set $vars "RPM_PARTITIONS" (dict "value" (include "rpm.str" $v.config.partitions)) -}}
{{- $_ := set $vars "RPM_LOG_LEVEL" (dict "value" $v.config.logLevel) -}}
{{- $_ := set $vars "RPM_METRICS_PORT" (dict "value" (include "rpm.str" $v.config.metricsPort)) -}}
{{- range $k, $val := (.extra | default dict) -}}
{{- $_ := set $vars $k $val -}}
{{- end -}}
{{- range $k, $val := $v.config.env -}}
{{- $_ := set $vars $k (dict "value" (include "rpm.str" $val)) -}}
{{- end -}}
{{- range $k, $val := (.values.env | default dict) -}}
{{- $_ := set $vars $k (dict "value" (include "rpm.str" $val)) -}}
{{- end -}}
{{- range $e := (.values.extraEnv | default list) -}}
{{- if hasKey $vars $e.name -}}
{{- fail (printf "%s.extraEnv: %s is already set by the chart or env; set it in one place" $.component $e.name) -}}
{{- end -}}
{{- end -}}
{{- range $k, $val := $vars }}
- name: {{ $k }}
{{- if hasKey $val "value" }}
  value: {{ $val.value | quote }}
{{- else }}
  valueFrom:
    {{- toYaml $val.valueFrom | nindent 4 }}
{{- end }}
{{- end }}
{{- with .values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* A probe on the metrics port: (dict "path" "/healthz" "port" "metrics" "timing" .Values.bridge.probes.liveness) */}}
{{- define "rpm.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: {{ .port }}
{{- toYaml .timing | nindent 0 }}
{{- end -}}

{{- define "rpm.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end -}}

{{/*
Pod template of a long-running product service.
Input: (dict "root" $ "component" "bridge" "values" .Values.bridge
             "args" (list "bridge") "env" (dict ...) "ports" (list ...)
             "volumes" (list ...) "volumeMounts" (list ...) "startupPath" "/healthz")
The image's entrypoint is `rpm`; args name the subcommand.
*/}}
{{- define "rpm.podTemplate" -}}
{{- $root := .root -}}
{{- $c := .values -}}
metadata:
  labels:
    {{- include "rpm.labels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- with $c.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $ann := deepCopy ($c.podAnnotations | default dict) }}
  {{- if $root.Values.database.url }}
  {{- /* restart the pods when a chart-managed database URL changes */}}
  {{- $_ := set $ann "checksum/database" ($root.Values.database.url | sha256sum | trunc 16) }}
  {{- end }}
  {{- with $ann }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "rpm.serviceAccountName" $root }}
  automountServiceAccountToken: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds }}
  {{- with (include "rpm.placement" $c | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "rpm.image" (dict "root" $root "override" $c.image) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: {{ toJson .args }}
      env:
        {{- include "rpm.env" (dict "root" $root "component" .component "values" $c "extra" .env) | trim | nindent 8 }}
      ports:
        - name: metrics
          containerPort: {{ $root.Values.config.metricsPort }}
          protocol: TCP
        {{- with .ports }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      startupProbe:
        {{- include "rpm.httpProbe" (dict "path" (.startupPath | default "/healthz") "port" "metrics" "timing" $c.probes.startup) | nindent 8 }}
      livenessProbe:
        {{- include "rpm.httpProbe" (dict "path" "/healthz" "port" "metrics" "timing" $c.probes.liveness) | nindent 8 }}
      readinessProbe:
        {{- include "rpm.httpProbe" (dict "path" "/readyz" "port" "metrics" "timing" $c.probes.readiness) | nindent 8 }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        {{- with .volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
    {{- with .volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/* Pod spec of a hook Job running one `rpm` subcommand: (dict "root" $ "component" "migrations" "values" .Values.migrations "args" (list ...)) */}}
{{- define "rpm.jobPod" -}}
{{- $root := .root -}}
{{- $c := .values -}}
metadata:
  labels:
    {{- include "rpm.labels" (dict "root" $root "component" .component) | nindent 4 }}
  {{- with $c.podAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "rpm.hookServiceAccountName" $root }}
  automountServiceAccountToken: false
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with (include "rpm.placement" $c | trim) }}
  {{- . | nindent 2 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "rpm.image" (dict "root" $root "override" dict) }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: {{ toJson .args }}
      env:
        {{- include "rpm.env" (dict "root" $root "component" .component "values" dict) | trim | nindent 8 }}
      resources:
        {{- toYaml $c.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 64Mi
{{- end -}}
