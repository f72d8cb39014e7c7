package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/robustvision/cotrain/pkg/cluster"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// planFlags are the flags shared by plan and submit.
type planFlags struct{ scale, device *string }

func addPlanFlags(fs interface {
	String(name, value, usage string) *string
}) planFlags {
	return planFlags{
		scale:  fs.String("scale", scales.Smoke.Name, "smoke, mini, gpu or paper"),
		device: fs.String("device", "", "cpu or gpu: what each job runs on (default: gpu for the gpu and paper scales, else cpu)"),
	}
}

func (f planFlags) make(throughput float64) (*cluster.Plan, *study.Runner, error) {
	scale, err := scales.Lookup(*f.scale)
	if err != nil {
		return nil, nil, usageError{err}
	}
	root, err := scales.FindRoot("")
	if err != nil {
		return nil, nil, err
	}
	device := *f.device
	if device == "" {
		device = map[bool]string{true: "gpu", false: "cpu"}[scale.Name == scales.Paper.Name || scale.Name == scales.GPU.Name]
	}
	r := &study.Runner{Root: root, Scale: scale}
	p, err := cluster.Make(r, device, throughput)
	if err != nil {
		return nil, nil, usageError{err}
	}
	return p, r, nil
}

func runPlan(args []string, stdout io.Writer) error {
	fs := newFlagSet("plan", `Print the stages of a scale's study in dependency order: each stage's key, inputs, state in the cache,
wave (stages of one wave can run at once), the resources it needs (CPUs, GPUs, memory) and its estimated time, from
the scale and the measured training throughput (README "Scale-out" explains the estimate).`, stdout)
	pf := addPlanFlags(fs)
	throughput := fs.Float64("throughput", 0, "training images per second of one job (0: the measured or assumed figure)")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, _, err := pf.make(*throughput)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "wave\tstage\tstate\tkey\tinputs\tcpus\tgpus\tmem\test. min\n")
	for _, j := range p.Jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d MiB\t%.1f\n", j.Wave, j.ID, j.State, j.Key, len(j.Deps), j.CPUs,
			j.GPUs, j.MemMiB, j.Minutes)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%s scale on %s: %d stages (%d to run) in %d waves; estimated %.1f h one after another, %.1f h "+
		"along the longest dependency chain, %.1f GPU-hours; throughput %.0f img/s (%s)\n", p.Scale, p.Device,
		len(p.Jobs), len(p.Order()), p.Waves, p.Minutes/60, p.Critical/60, p.GPUHours, p.Throughput, p.Basis)
	return nil
}

func runSubmit(args []string, stdout io.Writer) error {
	fs := newFlagSet("submit", `Submit the stages of a scale's study that are not done to a cluster's scheduler, each as one job that
runs "cotrain reproduce -stage ID" in this repository (which every node must see at the same path, with its cache):

  -engine slurm  one sbatch job per stage, chained with --dependency=afterok on the jobs of its inputs; logs under
                 data/cache/<scale>/logs/, scripts under data/cache/<scale>/slurm/. A cancelled or failed job's
                 dependants are cancelled too (--kill-on-invalid-dep); submit again to resume: done stages are
                 skipped, an interrupted training resumes from its last checkpoint.
  -engine k8s    Kubernetes manifests on stdout: a ConfigMap of the plan and one Indexed Job per wave; every pod
                 waits for its inputs, so "kubectl apply -f" them all at once (docker/README.md).`, stdout)
	pf := addPlanFlags(fs)
	engine := fs.String("engine", "slurm", "slurm or k8s")
	throughput := fs.Float64("throughput", 0, "training images per second of one job (0: the measured or assumed figure)")
	dryRun := fs.Bool("dry-run", false, "slurm: print the batch scripts instead of submitting them")
	partition := fs.String("partition", "", "slurm: --partition of the jobs")
	gres := fs.String("gres", "", "slurm: --gres of the jobs that use a GPU (e.g. gpu:1)")
	account := fs.String("account", "", "slurm: --account to charge the jobs to (default: the user's)")
	qos := fs.String("qos", "", "slurm: --qos of the jobs (default: the partition's)")
	backendName := fs.String("backend", "", "the jobs' -backend (default: theirs, $GOMLX_BACKEND or cpu)")
	image := fs.String("image", "cotrain-cuda:latest", "k8s: the container image")
	claim := fs.String("claim", "cotrain-work", "k8s: the PersistentVolumeClaim with the repository and its cache")
	namespace := fs.String("namespace", "default", "k8s: the namespace")
	parallel := fs.Int("parallelism", 0, "k8s: pods at once per wave (0: all of the wave)")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, r, err := pf.make(*throughput)
	if err != nil {
		return err
	}
	switch *engine {
	case "slurm":
		self, err := os.Executable()
		if err != nil {
			return err
		}
		s := cluster.Slurm{Root: r.Root, Cotrain: self, CacheDir: filepath.Join(r.Root, scales.CacheDir(r.Scale)),
			Partition: *partition, Gres: *gres, Account: *account, QOS: *qos, Backend: *backendName}
		if err := s.Validate(); err != nil {
			return usageError{err}
		}
		ids, err := s.Submit(p, *dryRun, stdout)
		if err == nil && !*dryRun {
			fmt.Fprintf(stdout, "%d jobs submitted (%d stages already done)\n", len(ids), len(p.Jobs)-len(p.Order()))
		}
		return err
	case "k8s":
		k := cluster.K8s{Image: *image, Claim: *claim, Namespace: *namespace, Parallelism: *parallel, Backend: *backendName}
		if err := k.Validate(); err != nil {
			return usageError{err}
		}
		return k.Write(p, stdout)
	}
	return usageError{fmt.Errorf("-engine %q: want slurm or k8s", *engine)}
}
