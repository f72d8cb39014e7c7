// Package cluster runs the study's stages under an existing scheduler — Slurm (sbatch jobs chained by their
// dependencies) or Kubernetes (Indexed Jobs, one per wave) — each job one `cotrain reproduce -stage`, with the
// resources and time each stage needs estimated from the scale and the measured throughput.
//
// It writes no scheduler of its own: the stage graph, its keys and the resumable, lock-protected cache (pkg/study)
// make any order that respects the dependencies correct, so the scheduler only has to start jobs.
package cluster

import (
	"fmt"
	"math"
	"slices"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	trainpkg "github.com/robustvision/cotrain/pkg/train"
)

// Job is one stage of the plan.
type Job struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Key     string   `json:"key"`
	Deps    []string `json:"deps"`
	State   string   `json:"state"`
	Wave    int      `json:"wave"` // 0 for stages without inputs, else one more than the latest wave of its inputs
	CPUs    int      `json:"cpus"`
	GPUs    int      `json:"gpus"`
	MemMiB  int      `json:"mem_mib"`
	Minutes float64  `json:"minutes"` // estimated wall time
}

// Plan is a scale's stages in dependency order with their resources.
type Plan struct {
	Scale      string  `json:"scale"`
	Device     string  `json:"device"`          // "cpu" or "gpu"
	Throughput float64 `json:"images_per_s"`    // training images per second of one job (the estimates' basis)
	Basis      string  `json:"throughput_from"` // where Throughput comes from
	Jobs       []Job   `json:"jobs"`
	Minutes    float64 `json:"minutes"`    // all jobs one after another
	GPUHours   float64 `json:"gpu_hours"`  // the GPU jobs' estimated hours
	Critical   float64 `json:"critical_m"` // the longest dependency chain: the wall time with unlimited workers
	Waves      int     `json:"waves"`
}

// measured holds training throughputs (images per second, one job, batch 128) measured with `cotrain bench` on the
// project's 2-core CI machine (AMD EPYC, cpu backend, 2026-11-30; README "Backends and speed").
var measured = map[[2]int]float64{{16, 32}: 4080, {8, 32}: 2482, {4, 64}: 210}

// measuredGPU holds training throughputs measured with `cotrain bench -cases paper` on one NVIDIA H100 (XLA CUDA
// plugin, 2026-11-27; docs/performance.md) for the networks whose study trainer ran at the benchmark's speed on a GPU
// (÷4, 64×64: 15,800–18,800 img/s on an H200, docs/gpu.md).
var measuredGPU = map[[2]int]float64{{8, 32}: 20955, {4, 64}: 17349}

// GPUThroughput is the assumed training throughput of the full network at 64×64 on one GPU: a cautious figure (the
// bare network's benchmark reached 9,255 img/s on an H100, but the study's trainer, with its host-side augmentation,
// has not run at that width). Measure yours with `cotrain bench -cases paper -backend xla:cuda` and pass it with
// -throughput.
const GPUThroughput = 2500.0

// Throughput estimates the training throughput of the scale's network on device, in images per second: a measured
// figure, or one scaled from the nearest measured configuration by the number of multiply-adds (∝ (size/width
// divisor)²); on a GPU, GPUThroughput scaled likewise from the full network at 64×64.
func Throughput(s scales.Scale, device string) (float64, string) {
	div, size := s.Model.WidthDivisor, s.Model.InputSize
	work := func(d, z int) float64 { return float64(z*z) / float64(d*d) }
	if v, ok := measuredGPU[[2]int{div, size}]; ok && device == "gpu" {
		return v, fmt.Sprintf("measured (÷%d, %d×%d, one H100)", div, size, size)
	}
	if device == "gpu" {
		return GPUThroughput * work(1, 64) / work(div, size), "assumed for one GPU (not measured here)"
	}
	if v, ok := measured[[2]int{div, size}]; ok {
		return v, fmt.Sprintf("measured (÷%d, %d×%d, 2 cores)", div, size, size)
	}
	ref := [2]int{16, 32}
	for k := range measured {
		if math.Abs(math.Log(work(k[0], k[1])/work(div, size))) < math.Abs(math.Log(work(ref[0], ref[1])/work(div, size))) {
			ref = k
		}
	}
	return measured[ref] * work(ref[0], ref[1]) / work(div, size),
		fmt.Sprintf("scaled from ÷%d, %d×%d measured on 2 cores by multiply-adds", ref[0], ref[1], ref[1])
}

// Make plans the scale's study: every stage with its state, wave, resources and estimated time. device is "cpu" or
// "gpu"; throughput > 0 replaces the estimate of Throughput.
func Make(r *study.Runner, device string, throughput float64) (*Plan, error) {
	if device != "cpu" && device != "gpu" {
		return nil, fmt.Errorf("device %q: want cpu or gpu", device)
	}
	if math.IsNaN(throughput) || math.IsInf(throughput, 0) || throughput < 0 {
		return nil, fmt.Errorf("throughput %v: want a finite number of images per second (0: the estimate)", throughput)
	}
	status, err := r.Status()
	if err != nil {
		return nil, err
	}
	p := &Plan{Scale: r.Scale.Name, Device: device, Throughput: throughput, Basis: "given"}
	if throughput <= 0 {
		p.Throughput, p.Basis = Throughput(r.Scale, device)
	}
	wave, finish := map[string]int{}, map[string]float64{}
	for _, s := range status {
		j := Job{ID: s.ID, Kind: s.Kind.String(), Key: s.Key, Deps: s.Deps, State: string(s.State), CPUs: 1,
			MemMiB: 2048}
		var start float64
		for _, d := range s.Deps {
			j.Wave = max(j.Wave, wave[d]+1)
			start = max(start, finish[d])
		}
		j.Minutes = work(r.Scale, s.Stage) / p.Throughput / 60
		if math.IsNaN(j.Minutes) || math.IsInf(j.Minutes, 0) || j.Minutes <= 0 {
			return nil, fmt.Errorf("stage %s: estimated %v minutes (a stage kind without an estimate)", s.ID, j.Minutes)
		}
		if device == "gpu" {
			j.CPUs, j.MemMiB = 4, 16384
			if s.Kind != study.Recording && s.Kind != study.Robustness {
				j.GPUs = 1
				p.GPUHours += j.Minutes / 60
			}
		}
		wave[s.ID], finish[s.ID] = j.Wave, start+j.Minutes
		p.Minutes += j.Minutes
		p.Critical = max(p.Critical, finish[s.ID])
		p.Waves = max(p.Waves, j.Wave+1)
		p.Jobs = append(p.Jobs, j)
	}
	return p, nil
}

// work estimates the images (in units of one classification training image: forward and backward through the whole
// network) that a stage processes. Every stage has an estimate: a finite, positive number.
func work(s scales.Scale, st study.Stage) float64 {
	train := float64(10 * s.Data.TrainPerClass)
	if s.Data.TrainPerClass == 0 { // the whole split: 90 % of the training images less the held-out ones
		all := 60000
		if s.Data.FirstTrain > 0 {
			all = s.Data.FirstTrain
		}
		train = 0.9 * float64(all-10*s.Data.HoldoutPerClass)
	}
	const shared = 0.6 // a neural batch runs the shared block and the readout: about 60 % of a full step
	trials := float64(s.V1.Sessions * s.V1.TrainPerSession)
	test, subset := 10000.0, 10000.0
	if s.Data.TestPerClass > 0 {
		test = float64(10 * s.Data.TestPerClass)
	}
	if s.EvalPerClass > 0 {
		subset = float64(10 * s.EvalPerClass)
	}
	switch st.Kind {
	case study.Training:
		c := condition.Must(st.Model)
		epochs := float64(max(s.EpochsOf(c.Budget), 1))
		switch {
		case c.InitReadout && s.ReadoutTrials > 0: // a readout stage: its trials, the block frozen
			return epochs * float64(s.ReadoutTrials) * c.Cost
		case c.Objective == trainpkg.NeuralPrediction:
			return epochs * trials * c.Cost
		case c.Objective == trainpkg.MultiTask && st.Ratio.Classification > 0:
			neural := float64(st.Ratio.Neural) / float64(st.Ratio.Classification)
			return epochs * train * c.Cost * (1 + shared*neural)
		}
		return epochs * train * c.Cost
	case study.Targets:
		return train / 3
	case study.Evaluation:
		return (test + 75*subset) / 3 * 4 // inference, and corrupting each image on the fly
	case study.Analysis:
		models := float64(len(study.ReconModels(s)))
		return max(models*float64(s.ReconImages*len(s.ReconNorms)*s.ReconSteps)*shared/4, 1) // batched, one image
	}
	return 1000
}

// Order returns the plan's jobs that are not done, in dependency order (as planned).
func (p *Plan) Order() []Job {
	var out []Job
	for _, j := range p.Jobs {
		if j.State != string(study.Done) {
			out = append(out, j)
		}
	}
	return out
}

// ByWave groups the jobs that are not done by wave.
func (p *Plan) ByWave() [][]Job {
	var waves [][]Job
	for _, j := range p.Order() {
		for len(waves) <= j.Wave {
			waves = append(waves, nil)
		}
		waves[j.Wave] = append(waves[j.Wave], j)
	}
	return slices.DeleteFunc(waves, func(w []Job) bool { return len(w) == 0 })
}
