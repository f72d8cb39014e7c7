package cluster

import (
	"fmt"
	"io"
	"strings"
	"text/template"
)

// K8s describes the Kubernetes manifests of a plan: a ConfigMap that lists each wave's stages, and one Indexed Job
// per wave whose pod k runs the wave's k-th stage. Every pod works in the repository on a shared volume (a
// PersistentVolumeClaim mounted at /work) and waits for its inputs (`cotrain reproduce -stage ID -wait`), so all the
// manifests can be applied at once: later waves' pods wait while earlier waves run.
type K8s struct {
	Image       string // the container image (docker/Dockerfile.cuda for GPUs, docker/Dockerfile for CPUs)
	Claim       string // the PersistentVolumeClaim holding the repository and its cache
	Namespace   string
	Parallelism int    // pods at once per wave (0: the wave's size)
	Backend     string // cotrain -backend of the pods ("" for the default)
}

var manifest = template.Must(template.New("k8s").Funcs(template.FuncMap{"join": strings.Join}).Parse(`# cotrain study, scale {{.Plan.Scale}}: {{len .Waves}} waves, {{.Count}} stages (kubectl apply -f this file).
apiVersion: v1
kind: ConfigMap
metadata:
  name: cotrain-{{.Plan.Scale}}-plan
  namespace: {{.K.Namespace}}
data:
{{- range $i, $w := .Waves}}
  wave-{{$i}}: |
{{- range $w}}
    {{.ID}}
{{- end}}
{{- end}}
{{- range $i, $w := .Waves}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: cotrain-{{$.Plan.Scale}}-wave-{{$i}}
  namespace: {{$.K.Namespace}}
  labels:
    app: cotrain
    cotrain/scale: {{$.Plan.Scale}}
spec:
  completionMode: Indexed
  completions: {{len $w}}
  parallelism: {{$.Parallelism $w}}
  backoffLimit: 6
  template:
    metadata:
      labels:
        app: cotrain
    spec:
      restartPolicy: Never
      containers:
        - name: stage
          image: {{$.K.Image}}
          workingDir: /work
          command: ["/bin/sh", "-c"]
          args:
            - >-
              id=$(sed -n "$((JOB_COMPLETION_INDEX + 1))p" /plan/wave-{{$i}}) &&
              { [ ! -f docker/cuda-env.sh ] || . docker/cuda-env.sh; } &&
              exec cotrain reproduce -scale {{$.Plan.Scale}} -stage "$id" -wait{{$.BackendFlag}}
          resources:
            requests:
              cpu: "{{$.CPUs $w}}"
              memory: {{$.Mem $w}}Mi
{{- if $.GPUs $w}}
            limits:
              nvidia.com/gpu: 1
{{- end}}
          volumeMounts:
            - {name: work, mountPath: /work}
            - {name: plan, mountPath: /plan}
      volumes:
        - name: work
          persistentVolumeClaim: {claimName: {{$.K.Claim}}}
        - name: plan
          configMap: {name: cotrain-{{$.Plan.Scale}}-plan}
{{- end}}
`))

type manifestData struct {
	K     K8s
	Plan  *Plan
	Waves [][]Job
	Count int
}

func (m manifestData) Parallelism(w []Job) int {
	if m.K.Parallelism > 0 {
		return min(m.K.Parallelism, len(w))
	}
	return len(w)
}

func (m manifestData) CPUs(w []Job) int {
	c := 1
	for _, j := range w {
		c = max(c, j.CPUs)
	}
	return c
}

func (m manifestData) Mem(w []Job) int {
	c := 512
	for _, j := range w {
		c = max(c, j.MemMiB)
	}
	return c
}

func (m manifestData) GPUs(w []Job) bool {
	for _, j := range w {
		if j.GPUs > 0 {
			return true
		}
	}
	return false
}

// BackendFlag is the pods' -backend: the given one, else what docker/cuda-env.sh found in the CUDA image (the
// plugin's path), else cpu.
func (m manifestData) BackendFlag() string {
	if m.K.Backend == "" {
		return ` -backend "${COTRAIN_BACKEND:-cpu}"`
	}
	return " -backend " + shellQuote(m.K.Backend)
}

// Write writes the manifests of the plan's stages that are not done.
func (k K8s) Write(p *Plan, out io.Writer) error {
	if k.Image == "" || k.Claim == "" {
		return fmt.Errorf("kubernetes manifests need an image and a volume claim")
	}
	if k.Namespace == "" {
		k.Namespace = "default"
	}
	d := manifestData{K: k, Plan: p, Waves: p.ByWave()}
	for _, w := range d.Waves {
		d.Count += len(w)
	}
	return manifest.Execute(out, d)
}
