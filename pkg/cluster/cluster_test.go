package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// The plan lists every stage in dependency order, its waves respect the dependencies, and its estimates add up.
func TestPlan(t *testing.T) {
	r := &study.Runner{Root: t.TempDir(), Scale: scales.Paper}
	p, err := Make(r, "gpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Jobs) != len(study.Stages(scales.Paper)) || len(p.Order()) != len(p.Jobs) {
		t.Fatalf("%d jobs, %d to run, for %d stages", len(p.Jobs), len(p.Order()), len(study.Stages(scales.Paper)))
	}
	wave := map[string]int{}
	var gpuHours float64
	for _, j := range p.Jobs {
		for _, d := range j.Deps {
			if wave[d] >= j.Wave {
				t.Errorf("%s (wave %d) depends on %s (wave %d)", j.ID, j.Wave, d, wave[d])
			}
		}
		wave[j.ID] = j.Wave
		if j.Minutes <= 0 {
			t.Errorf("%s: estimate %v min", j.ID, j.Minutes)
		}
		gpuHours += float64(j.GPUs) * j.Minutes / 60
	}
	if p.Critical > p.Minutes || p.Critical <= 0 || p.Waves < 5 || gpuHours != p.GPUHours {
		t.Errorf("plan: %.0f min in all, %.0f along the critical path, %d waves, %.1f GPU-h (jobs: %.1f)", p.Minutes,
			p.Critical, p.Waves, p.GPUHours, gpuHours)
	}
	if _, err := Make(r, "tpu", 0); err == nil {
		t.Error("device tpu accepted")
	}
}

// A dry run prints one script per stage, each job depending on its inputs' jobs, with the resources requested.
func TestSlurmDryRun(t *testing.T) {
	p, err := Make(&study.Runner{Root: t.TempDir(), Scale: scales.Smoke}, "cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := Slurm{Root: "/shared/cotrain", Cotrain: "/shared/cotrain/bin/cotrain", CacheDir: "/shared/cotrain/data/cache/smoke",
		Partition: "gpu", Gres: "gpu:1"}
	if _, err := s.Submit(p, true, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if n := strings.Count(text, "#!/bin/bash"); n != len(p.Jobs) {
		t.Errorf("%d scripts for %d stages", n, len(p.Jobs))
	}
	for _, want := range []string{"--partition=gpu", "reproduce -scale smoke -stage mtl-monkey/seed1",
		"--dependency=afterok:<job of targets/monkey>:<job of v1sim>", "--cpus-per-task=1", "cd /shared/cotrain"} {
		if !strings.Contains(text, want) {
			t.Errorf("dry run lacks %q", want)
		}
	}
	if strings.Contains(text, "--gres") {
		t.Error("a CPU plan asked for a GPU")
	}
}

// The Kubernetes manifests are valid YAML: a ConfigMap listing every stage once, and per wave an Indexed Job with
// the fields one needs.
func TestKubernetesManifest(t *testing.T) {
	p, err := Make(&study.Runner{Root: t.TempDir(), Scale: scales.Paper}, "gpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (K8s{Image: "cotrain-cuda:latest", Claim: "cotrain-work"}).Write(p, &out); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(&out)
	var jobs, stages int
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("not valid YAML: %v", err)
			}
			break
		}
		switch doc["kind"] {
		case "ConfigMap":
			for _, v := range doc["data"].(map[string]any) {
				stages += len(strings.Fields(v.(string)))
			}
		case "Job":
			jobs++
			spec := doc["spec"].(map[string]any)
			tmpl := spec["template"].(map[string]any)["spec"].(map[string]any)
			c := tmpl["containers"].([]any)[0].(map[string]any)
			if spec["completionMode"] != "Indexed" || spec["completions"].(int) < 1 || spec["parallelism"].(int) < 1 ||
				tmpl["restartPolicy"] != "Never" || c["image"] != "cotrain-cuda:latest" ||
				!strings.Contains(c["args"].([]any)[0].(string), "JOB_COMPLETION_INDEX") {
				t.Errorf("job %v: %v", doc["metadata"], spec)
			}
		default:
			t.Errorf("unexpected document of kind %v", doc["kind"])
		}
	}
	if stages != len(p.Jobs) || jobs != len(p.ByWave()) {
		t.Errorf("%d stages in the ConfigMap and %d jobs; want %d and %d", stages, jobs, len(p.Jobs), len(p.ByWave()))
	}
}

// Every stage of every scale goes through the plan with a finite, positive estimate, through -json, and into a Slurm
// script whose --time is a positive number of minutes, and into the Kubernetes manifests, which parse.
func TestEveryStageOfEveryScale(t *testing.T) {
	for _, s := range []scales.Scale{scales.Smoke, scales.Mini, scales.GPU, scales.Paper} {
		for _, device := range []string{"cpu", "gpu"} {
			p, err := Make(&study.Runner{Root: t.TempDir(), Scale: s}, device, 0)
			if err != nil {
				t.Fatalf("%s on %s: %v", s.Name, device, err)
			}
			if len(p.Jobs) != len(study.Stages(s)) {
				t.Errorf("%s: %d jobs for %d stages", s.Name, len(p.Jobs), len(study.Stages(s)))
			}
			for _, j := range p.Jobs {
				if !(j.Minutes > 0) || math.IsInf(j.Minutes, 0) {
					t.Errorf("%s on %s, %s: estimate %v min", s.Name, device, j.ID, j.Minutes)
				}
			}
			if _, err := json.Marshal(p); err != nil {
				t.Errorf("%s on %s: plan -json: %v", s.Name, device, err)
			}
			var out bytes.Buffer
			sl := Slurm{Root: "/shared/my repo", Cotrain: "/shared/my repo/bin/cotrain", CacheDir: "/shared/my repo/data/cache/" + s.Name}
			if _, err := sl.Submit(p, true, &out); err != nil {
				t.Fatal(err)
			}
			times := regexp.MustCompile(`(?m)^#SBATCH --time=(.*)$`).FindAllStringSubmatch(out.String(), -1)
			if len(times) != len(p.Jobs) {
				t.Errorf("%s: %d --time lines for %d jobs", s.Name, len(times), len(p.Jobs))
			}
			for _, m := range times {
				if n, err := strconv.Atoi(m[1]); err != nil || n < 10 || n > 525610 {
					t.Errorf("%s on %s: --time=%s", s.Name, device, m[1])
				}
			}
			if !strings.Contains(out.String(), `#SBATCH --output="/shared/my repo/data/cache/`+s.Name+`/logs/`) {
				t.Errorf("%s: the log path with a space is not quoted", s.Name)
			}
			out.Reset()
			if err := (K8s{Image: "cotrain-cuda:latest", Claim: "cotrain-work"}).Write(p, &out); err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(&out)
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("%s: manifests are not YAML: %v", s.Name, err)
					}
					break
				}
			}
		}
	}
}

// Values that would reach a job script are rejected before anything is written: newlines (which become shell lines
// of every job or end sbatch's reading of directives), and anything Slurm would not read as one name.
func TestSlurmRejectsHostileValues(t *testing.T) {
	p, err := Make(&study.Runner{Root: t.TempDir(), Scale: scales.Smoke}, "cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	good := Slurm{Root: "/r", Cotrain: "/r/bin/cotrain", CacheDir: cache, Sbatch: "/bin/false"}
	for _, bad := range []Slurm{
		{Partition: "gpu\n#SBATCH --wrap=x\ntouch /tmp/p2"}, {Partition: "gpu;rm"}, {Partition: "gpu cpu"},
		{Gres: "gpu:1\necho hi"}, {Gres: "gpu:1 --wrap"}, {Account: "lab\n"}, {Account: "a b"}, {QOS: "high$(id)"},
		{Root: "/r\nid"}, {Backend: "xla:/a\nid"},
	} {
		s := good
		s.Partition, s.Gres, s.Account, s.QOS, s.Backend = bad.Partition, bad.Gres, bad.Account, bad.QOS, bad.Backend
		if bad.Root != "" {
			s.Root = bad.Root
		}
		if _, err := s.Submit(p, false, io.Discard); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("a rejected submission wrote %d entries", len(entries))
	}
	ok := good
	ok.Partition, ok.Gres, ok.Account, ok.QOS = "gpu,gpu-long", "gpu:a100:2", "lab_1", "normal"
	if err := ok.Validate(); err != nil {
		t.Errorf("valid values rejected: %v", err)
	}
	var out bytes.Buffer
	if _, err := ok.Submit(p, true, &out); err != nil || !strings.Contains(out.String(), "#SBATCH --account=lab_1\n") ||
		!strings.Contains(out.String(), "#SBATCH --qos=normal\n") {
		t.Errorf("account and qos not in the scripts (%v)", err)
	}
}

// Hostile image, claim and namespace values are rejected; the manifests of valid ones decode to exactly the objects
// meant (the encoder, not a template, writes them), whatever the backend string holds.
func TestKubernetesRejectsHostileValues(t *testing.T) {
	p, err := Make(&study.Runner{Root: t.TempDir(), Scale: scales.Smoke}, "cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []K8s{
		{Image: "evil:latest\n          securityContext: {privileged: true}", Claim: "w"},
		{Image: "reg: evil", Claim: "w"}, {Image: "Upper/Case", Claim: "w"}, {Image: "a", Claim: "x}\n          hostPath: {path: /"},
		{Image: "a", Claim: "W"}, {Image: "a", Claim: "w", Namespace: "kube system"}, {Image: "a", Claim: "w", Parallelism: -1},
	} {
		if err := bad.Write(p, io.Discard); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	k := K8s{Image: "registry.example.org:5000/lab/cotrain-cuda:1.0", Claim: "work", Namespace: "lab",
		Backend: "xla:/opt/x'y\"z: {a}"}
	objs, err := k.Manifests(p)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := k.Write(p, &out); err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(&out)
	for i, want := range objs {
		got := reflect.New(reflect.TypeOf(want).Elem()).Interface()
		if err := dec.Decode(got); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("document %d decodes to %+v, want %+v", i, got, want)
		}
	}
	j := objs[1].(*job)
	c := j.Spec.Template.Spec.Containers[0]
	if c.Image != k.Image || len(j.Spec.Template.Spec.Volumes) != 2 || j.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "work" ||
		!strings.HasSuffix(c.Args[0], ` -backend 'xla:/opt/x'\''y"z: {a}'`) {
		t.Errorf("job: image %q, volumes %+v, args %q", c.Image, j.Spec.Template.Spec.Volumes, c.Args)
	}
}

// A throughput that is not a finite, non-negative number is refused.
func TestPlanRejectsImpossibleThroughput(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), -5} {
		if _, err := Make(&study.Runner{Root: t.TempDir(), Scale: scales.Smoke}, "cpu", v); err == nil {
			t.Errorf("throughput %v accepted", v)
		}
	}
}
