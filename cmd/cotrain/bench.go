package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/bench"
	"github.com/robustvision/cotrain/pkg/study"
)

// PyTorch 1.13 (Debian's python3-torch) on this machine class (2 cores), 2 threads, batch 128 (shared/ENV-NOTES.md,
// measured 2026-11-27): training images/s of the same topology. Printed only for the cpu backends.
var pytorchPeer = map[string]float64{"train ÷8 32×32 batch 128": 900, "train ÷4 64×64 batch 128": 83, "train ÷1 64×64 batch 128": 6.8}

func runBench(args []string, stdout io.Writer) error {
	fs := newFlagSet("bench", `Benchmark the VGG-19-BN topology on a backend: training steps (batch 128, SGD) at widths ÷16, ÷8, ÷4
(32×32) and ÷8, ÷4 (64×64), inference, and one reconstruction step (gradient w.r.t. one 32×32 image up to conv3_1).
Each case runs in its own process so that its peak memory is its own. With -compare, the cpu backend (convolutions
as OpenBLAS kernels) is measured side by side with cpu:lowered (convolutions as im2col + DotGeneral inside the pure-Go
graph) and cpu:nativeconv (the pure-Go backend's own convolution).`, stdout)
	backendFlag := fs.String("backend", "", "backend (default $GOMLX_BACKEND, else cpu)")
	compare := fs.Bool("compare", false, "also run every case on cpu:lowered and cpu:nativeconv and print the speed-ups")
	steps := fs.Int("steps", 2, "timed steps per case (after one untimed warm-up step)")
	only := fs.String("only", "", "run only cases whose description contains this (e.g. \"train ÷8 32\")")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	set := fs.String("cases", "standard", "standard (the CPU cases) or paper (full width at 64×64, for a GPU)")
	one := fs.String("one", "", "internal: run one case given as JSON and print its result as JSON")
	trainers := fs.Bool("trainers", false, "measure every trainer of the study (and evaluation) at -scale instead: img/s and peak memory")
	scaleName := fs.String("scale", study.Mini.Name, "with -trainers: the scale whose width, input size and batch size are measured")
	batches := fs.Int("batches", 8, "with -trainers: batches per trainer (the first, which compiles the graph, included)")
	oneTrainer := fs.String("trainer-one", "", "internal: measure one trainer and print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *trainers || *oneTrainer != "" {
		return benchTrainers(*backendFlag, *scaleName, *batches, *oneTrainer, stdout)
	}
	if *one != "" {
		var c bench.Case
		if err := json.Unmarshal([]byte(*one), &c); err != nil {
			return usageError{fmt.Errorf("-one: %w", err)}
		}
		b, err := backend.New(*backendFlag)
		if err != nil {
			return err
		}
		r, err := bench.Run(b, c)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(r)
	}
	backends := []string{backend.Resolve(*backendFlag)}
	if *compare {
		backends = append(backends, "cpu:lowered", "cpu:nativeconv")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var results []bench.Result
	fmt.Fprintf(stdout, "%-28s %-16s %10s %10s %10s %10s\n", "case", "backend", "img/s", "s/step", "warm-up s", "peak MiB")
	cases := bench.Standard(*steps)
	switch *set {
	case "standard":
	case "paper":
		cases = bench.Paper(*steps)
	default:
		return usageError{fmt.Errorf("-cases %q: want standard or paper", *set)}
	}
	for _, c := range cases {
		if *only != "" && !strings.Contains(c.String(), *only) {
			continue
		}
		var speeds []float64
		for _, bk := range backends {
			spec, _ := json.Marshal(c)
			cmd := exec.Command(self, "bench", "-backend", bk, "-one", string(spec))
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			start := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s on %s: %v\n%s", c, bk, err, errb.String())
			}
			var r bench.Result
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				return fmt.Errorf("%s on %s: %v (%s)", c, bk, err, out.String())
			}
			results = append(results, r)
			speeds = append(speeds, r.ImagesPerSec)
			fmt.Fprintf(stdout, "%-28s %-16s %10.1f %10.3f %10.1f %10.0f   (%s)\n", c, bk, r.ImagesPerSec, r.SecondsStep,
				r.CompileSec, r.PeakRSSMiB, time.Since(start).Round(time.Second))
		}
		for i, bk := range backends[1:] {
			if speeds[i+1] > 0 {
				fmt.Fprintf(stdout, "%-28s speed-up over %s: %.1f×\n", "", bk, speeds[0]/speeds[i+1])
			}
		}
		if peer, ok := pytorchPeer[c.String()]; ok && strings.HasPrefix(backends[0], "cpu") {
			fmt.Fprintf(stdout, "%-28s PyTorch 1.13 on the same machine class: %.0f img/s (ours: %.1f%% of it)\n", "", peer, 100*speeds[0]/peer)
		}
		if c.Kind == "recon" {
			fmt.Fprintf(stdout, "%-28s one reconstruction step: %.1f ms\n", "", 1000*results[len(results)-len(backends)].SecondsStep)
		}
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		return os.WriteFile(*jsonOut, data, 0o644)
	}
	return nil
}

// benchTrainers measures every trainer at a scale, each in its own process (its peak memory its own).
func benchTrainers(backendName, scaleName string, batches int, one string, stdout io.Writer) error {
	scale, err := study.LookupScale(scaleName)
	if err != nil {
		return usageError{err}
	}
	if one != "" {
		b, err := backend.New(backendName)
		if err != nil {
			return err
		}
		r, err := study.BenchTrainer(b, &study.Runner{Root: ".", Scale: scale}, one, batches)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(r)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	batch := scale.Batch
	if batch == 0 {
		batch = 128 // the paper's
	}
	fmt.Fprintf(stdout, "%s scale: width ÷%d, %d×%d, batch %d, %d batches per trainer, backend %s\n", scale.Name,
		scale.Model.WidthDivisor, scale.Model.InputSize, scale.Model.InputSize, batch, batches, backend.Resolve(backendName))
	fmt.Fprintf(stdout, "%-16s %10s %10s %10s\n", "trainer", "img/s", "seconds", "peak MiB")
	for _, t := range study.Trainers {
		cmd := exec.Command(self, "bench", "-backend", backendName, "-scale", scaleName, "-batches", fmt.Sprint(batches), "-trainer-one", t)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("trainer %s: %v\n%s", t, err, errb.String())
		}
		var r study.TrainerBench
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			return fmt.Errorf("trainer %s: %v (%s)", t, err, out.String())
		}
		fmt.Fprintf(stdout, "%-16s %10.1f %10.1f %10.0f\n", t, r.ImagesPerSec, r.Seconds, r.PeakRSSMiB)
	}
	return nil
}
