package cluster

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Slurm describes how the jobs are submitted to Slurm.
type Slurm struct {
	Root      string // the repository on the shared file system (the jobs' working directory)
	Cotrain   string // the cotrain binary, reachable from every node
	CacheDir  string // the scale's cache (logs and scripts go under it)
	Partition string // sbatch --partition ("" for the default)
	Gres      string // sbatch --gres for the jobs that use a GPU (e.g. gpu:1)
	Account   string // sbatch --account ("" for the user's default)
	QOS       string // sbatch --qos ("" for the default)
	Backend   string // cotrain -backend of the jobs ("" for the default)
	Sbatch    string // the sbatch command (default "sbatch")
}

// safeName turns a stage ID into a file name.
func safeName(id string) string { return strings.NewReplacer("/", "_", ":", "-").Replace(id) }

// Script is the batch script of one job; deps are the Slurm job IDs (or placeholders) it waits for.
func (s Slurm) Script(p *Plan, j Job, deps []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=cotrain-%s-%s\n", p.Scale, safeName(j.ID))
	fmt.Fprintf(&b, "#SBATCH --output=\"%s\"\n", filepath.Join(s.CacheDir, "logs", safeName(j.ID)+".%j.log"))
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n#SBATCH --mem=%dM\n", j.CPUs, j.MemMiB)
	// Three times the estimate and ten minutes more: an estimate is not a measurement.
	fmt.Fprintf(&b, "#SBATCH --time=%d\n", TimeLimit(j.Minutes))
	for _, d := range [][2]string{{"partition", s.Partition}, {"account", s.Account}, {"qos", s.QOS}} {
		if d[1] != "" {
			fmt.Fprintf(&b, "#SBATCH --%s=%s\n", d[0], d[1])
		}
	}
	if s.Gres != "" && j.GPUs > 0 {
		fmt.Fprintf(&b, "#SBATCH --gres=%s\n", s.Gres)
	}
	if len(deps) > 0 {
		fmt.Fprintf(&b, "#SBATCH --dependency=afterok:%s\n#SBATCH --kill-on-invalid-dep=yes\n", strings.Join(deps, ":"))
	}
	fmt.Fprintf(&b, "# stage %s (%s; inputs: %s); estimated %.1f min\n", j.ID, j.Kind, strings.Join(j.Deps, ", "), j.Minutes)
	fmt.Fprintf(&b, "export GOMAXPROCS=${SLURM_CPUS_PER_TASK:-%d}\n", j.CPUs)
	fmt.Fprintf(&b, "cd %s\n", shellQuote(s.Root))
	backend := ""
	if s.Backend != "" {
		backend = " -backend " + shellQuote(s.Backend)
	}
	fmt.Fprintf(&b, "exec %s reproduce -scale %s -stage %s%s\n", shellQuote(s.Cotrain), p.Scale, shellQuote(j.ID), backend)
	return b.String()
}

// TimeLimit is a job's --time in minutes: three times the estimate and ten minutes more (an estimate is not a
// measurement), at least 10 and at most a year.
func TimeLimit(minutes float64) int {
	if math.IsNaN(minutes) || minutes < 0 {
		minutes = 0
	}
	return int(min(math.Ceil(3*minutes), 525600)) + 10
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Submit submits one job per stage that is not done, in dependency order, each depending (afterok) on the jobs of
// its inputs that it submits too; stages done are skipped. With dryRun it prints the scripts (dependencies on the
// jobs of this submission shown as <job of STAGE>) instead. It returns the job IDs by stage. Values that would
// reach a script are checked first (Validate): nothing is written when one is not what Slurm accepts.
func (s Slurm) Submit(p *Plan, dryRun bool, out io.Writer) (map[string]string, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	jobs := p.Order()
	ids := map[string]string{}
	if dryRun {
		fmt.Fprintf(out, "# %d jobs in %d waves for the %s scale; estimated %.1f h one after another, %.1f h along the longest dependency chain, %.1f GPU-hours (throughput %.0f img/s, %s)\n",
			len(jobs), len(p.ByWave()), p.Scale, p.Minutes/60, p.Critical/60, p.GPUHours, p.Throughput, p.Basis)
	}
	if !dryRun {
		for _, d := range []string{"logs", "slurm"} {
			if err := os.MkdirAll(filepath.Join(s.CacheDir, d), 0o755); err != nil {
				return nil, err
			}
		}
	}
	for _, j := range jobs {
		var deps []string
		for _, d := range j.Deps {
			if id, ok := ids[d]; ok {
				deps = append(deps, id)
			}
		}
		script := s.Script(p, j, deps)
		if dryRun {
			ids[j.ID] = "<job of " + j.ID + ">"
			fmt.Fprintf(out, "\n%s", script)
			continue
		}
		file := filepath.Join(s.CacheDir, "slurm", safeName(j.ID)+".sh")
		if err := provenance.WriteFileAtomic(file, []byte(script)); err != nil {
			return ids, err
		}
		sbatch := s.Sbatch
		if sbatch == "" {
			sbatch = "sbatch"
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(sbatch, "--parsable", file)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return ids, fmt.Errorf("sbatch %s: %v: %s", file, err, strings.TrimSpace(stderr.String()))
		}
		id, _, _ := strings.Cut(strings.TrimSpace(stdout.String()), ";")
		ids[j.ID] = id
		fmt.Fprintf(out, "submitted %s as job %s\n", j.ID, id)
	}
	return ids, nil
}
