package cluster

import (
	"bytes"
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
