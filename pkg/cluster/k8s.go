package cluster

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// K8s describes the Kubernetes manifests of a plan: a ConfigMap that lists each wave's stages, and one Indexed Job
// per wave whose pod k runs the wave's k-th stage. Every pod works in the repository on a shared volume (a
// PersistentVolumeClaim mounted at /work) and waits for its inputs (`cotrain reproduce -stage ID -wait`), so all the
// manifests can be applied at once: later waves' pods wait while earlier waves run. The manifests are Go values
// encoded by a YAML encoder, never text templates: a value cannot add keys to them.
type K8s struct {
	Image       string // the container image (docker/Dockerfile.cuda for GPUs, docker/Dockerfile for CPUs)
	Claim       string // the PersistentVolumeClaim holding the repository and its cache
	Namespace   string
	Parallelism int    // pods at once per wave (0: the wave's size)
	Backend     string // cotrain -backend of the pods ("" for the default)
}

// The parts of the manifests (the fields of Kubernetes' own types that they use).
type (
	objectMeta struct {
		Name      string            `yaml:"name,omitempty"`
		Namespace string            `yaml:"namespace,omitempty"`
		Labels    map[string]string `yaml:"labels,omitempty"`
	}
	configMap struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   objectMeta        `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
	}
	job struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   objectMeta `yaml:"metadata"`
		Spec       jobSpec    `yaml:"spec"`
	}
	jobSpec struct {
		CompletionMode string      `yaml:"completionMode"`
		Completions    int         `yaml:"completions"`
		Parallelism    int         `yaml:"parallelism"`
		BackoffLimit   int         `yaml:"backoffLimit"`
		Template       podTemplate `yaml:"template"`
	}
	podTemplate struct {
		Metadata objectMeta `yaml:"metadata"`
		Spec     podSpec    `yaml:"spec"`
	}
	podSpec struct {
		RestartPolicy string      `yaml:"restartPolicy"`
		Containers    []container `yaml:"containers"`
		Volumes       []volume    `yaml:"volumes"`
	}
	container struct {
		Name         string        `yaml:"name"`
		Image        string        `yaml:"image"`
		WorkingDir   string        `yaml:"workingDir"`
		Command      []string      `yaml:"command"`
		Args         []string      `yaml:"args"`
		Resources    resources     `yaml:"resources"`
		VolumeMounts []volumeMount `yaml:"volumeMounts"`
	}
	resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits,omitempty"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	}
	volume struct {
		Name                  string           `yaml:"name"`
		PersistentVolumeClaim *claimSource     `yaml:"persistentVolumeClaim,omitempty"`
		ConfigMap             *configMapSource `yaml:"configMap,omitempty"`
	}
	claimSource struct {
		ClaimName string `yaml:"claimName"`
	}
	configMapSource struct {
		Name string `yaml:"name"`
	}
)

// Manifests are the objects of the plan's stages that are not done: the ConfigMap, then a Job per wave.
func (k K8s) Manifests(p *Plan) ([]any, error) {
	if k.Namespace == "" {
		k.Namespace = "default"
	}
	if err := k.Validate(); err != nil {
		return nil, err
	}
	waves := p.ByWave()
	planName := "cotrain-" + p.Scale + "-plan"
	cm := configMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: objectMeta{Name: planName, Namespace: k.Namespace},
		Data: map[string]string{}}
	out := []any{&cm}
	backend := ` -backend "${COTRAIN_BACKEND:-cpu}"` // what docker/cuda-env.sh found in the CUDA image, else cpu
	if k.Backend != "" {
		backend = " -backend " + shellQuote(k.Backend)
	}
	for i, w := range waves {
		var ids []string
		cpus, mem, gpus := 1, 512, false
		for _, j := range w {
			ids = append(ids, j.ID)
			cpus, mem, gpus = max(cpus, j.CPUs), max(mem, j.MemMiB), gpus || j.GPUs > 0
		}
		key := fmt.Sprintf("wave-%d", i)
		cm.Data[key] = strings.Join(ids, "\n") + "\n"
		parallelism := len(w)
		if k.Parallelism > 0 {
			parallelism = min(k.Parallelism, len(w))
		}
		res := resources{Requests: map[string]string{"cpu": fmt.Sprint(cpus), "memory": fmt.Sprintf("%dMi", mem)}}
		if gpus {
			res.Limits = map[string]string{"nvidia.com/gpu": "1"}
		}
		script := fmt.Sprintf(`id=$(sed -n "$((JOB_COMPLETION_INDEX + 1))p" /plan/%s) && `+
			`{ [ ! -f docker/cuda-env.sh ] || . docker/cuda-env.sh; } && `+
			`exec cotrain reproduce -scale %s -stage "$id" -wait%s`, key, p.Scale, backend)
		out = append(out, &job{APIVersion: "batch/v1", Kind: "Job",
			Metadata: objectMeta{Name: fmt.Sprintf("cotrain-%s-wave-%d", p.Scale, i), Namespace: k.Namespace,
				Labels: map[string]string{"app": "cotrain", "cotrain/scale": p.Scale}},
			Spec: jobSpec{CompletionMode: "Indexed", Completions: len(w), Parallelism: parallelism, BackoffLimit: 6,
				Template: podTemplate{Metadata: objectMeta{Labels: map[string]string{"app": "cotrain"}},
					Spec: podSpec{RestartPolicy: "Never",
						Containers: []container{{Name: "stage", Image: k.Image, WorkingDir: "/work",
							Command: []string{"/bin/sh", "-c"}, Args: []string{script}, Resources: res,
							VolumeMounts: []volumeMount{{Name: "work", MountPath: "/work"}, {Name: "plan", MountPath: "/plan"}}}},
						Volumes: []volume{{Name: "work", PersistentVolumeClaim: &claimSource{ClaimName: k.Claim}},
							{Name: "plan", ConfigMap: &configMapSource{Name: planName}}}}}}})
	}
	return out, nil
}

// Write writes the manifests of the plan's stages that are not done, as one YAML stream (kubectl apply -f).
func (k K8s) Write(p *Plan, out io.Writer) error {
	objs, err := k.Manifests(p)
	if err != nil {
		return err
	}
	n := 0
	for _, w := range p.ByWave() {
		n += len(w)
	}
	fmt.Fprintf(out, "# cotrain study, scale %s: %d waves, %d stages (kubectl apply -f this file).\n", p.Scale,
		len(objs)-1, n)
	enc := yaml.NewEncoder(out)
	enc.SetIndent(2)
	for _, o := range objs {
		if err := enc.Encode(o); err != nil {
			return err
		}
	}
	return enc.Close()
}
