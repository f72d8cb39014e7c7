package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/bench"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

func runBench(args []string, stdout io.Writer) error {
	fs := newFlagSet("bench", `Benchmark the VGG-19-BN topology on a backend: training steps (batch 128, SGD) at widths ÷16, ÷8, ÷4
(32×32) and ÷8, ÷4 (64×64), inference, and one reconstruction step (gradient w.r.t. one 32×32 image up to conv3_1).
Each case runs in its own process so that its peak memory is its own.

With -peer, the same network runs in PyTorch on the same machine (Debian's python3-torch; the script is embedded in
this binary), interleaved with this backend -repeat times per case, and the table gives the median of each and the
ratio: training at ÷16 and ÷8 (32×32) and ÷4 (64×64), at batch 128 and at the mini scale's batch, inference, and one
reconstruction step (PyTorch with one thread). Each run is a process of its own, so that peak memory is its own.`, stdout)
	backendFlag := fs.String("backend", "", "backend (default $GOMLX_BACKEND, else cpu)")
	peer := fs.Bool("peer", false, "run every case in PyTorch too, interleaved, and print the ratio (see above)")
	repeat := fs.Int("repeat", 3, "with -peer: runs of each side per case (medians are reported)")
	seconds := fs.Float64("seconds", 2, "with -peer: time each case for at least this long")
	steps := fs.Int("steps", 2, "timed steps per case (after one untimed warm-up step)")
	only := fs.String("only", "", "run only cases whose description contains this (e.g. \"train ÷8 32\")")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	set := fs.String("cases", "standard", "standard (the CPU cases) or paper (full width at 64×64, for a GPU)")
	one := fs.String("one", "", "internal: run one case given as JSON and print its result as JSON")
	trainers := fs.Bool("trainers", false, "measure every trainer of the study (and evaluation) at -scale instead: img/s and peak memory")
	scaleName := fs.String("scale", scales.Mini.Name, "with -trainers: the scale whose width, input size and batch size are measured")
	batches := fs.Int("batches", 8, "with -trainers: batches per trainer (the first, which compiles the graph, included)")
	oneTrainer := fs.String("trainer-one", "", "internal: measure one trainer and print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *trainers || *oneTrainer != "" {
		return benchTrainers(*backendFlag, *scaleName, *batches, *oneTrainer, stdout)
	}
	if *peer {
		if *repeat < 1 || *steps < 1 {
			return usageError{fmt.Errorf("-repeat %d and -steps %d: want at least 1", *repeat, *steps)}
		}
		scale, err := scales.Lookup(*scaleName)
		if err != nil {
			return usageError{err}
		}
		return benchPeer(*backendFlag, scale.Batch, *steps, *seconds, *repeat, *only, *jsonOut, stdout)
	}
	if *one != "" {
		return benchOne(*backendFlag, *one, stdout)
	}
	cases := bench.Standard(*steps)
	switch *set {
	case "standard":
	case "paper":
		cases = bench.Paper(*steps)
	default:
		return usageError{fmt.Errorf("-cases %q: want standard or paper", *set)}
	}
	results, err := benchCases(cases, backend.Resolve(*backendFlag), *only, stdout)
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		return provenance.WriteFileAtomic(*jsonOut, data)
	}
	return nil
}

// benchOne runs one case given as JSON in this process and prints its result as JSON (bench -one).
func benchOne(backendName, spec string, stdout io.Writer) error {
	var c bench.Case
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return usageError{fmt.Errorf("-one: %w", err)}
	}
	b, err := backend.New(backendName)
	if err != nil {
		return err
	}
	r, err := bench.Run(b, c)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(r)
}

// benchCases measures each case (those whose description contains only, if set) on the backend, each run in a
// process of its own, and prints a table.
func benchCases(cases []bench.Case, bk string, only string, stdout io.Writer) ([]bench.Result, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var results []bench.Result
	fmt.Fprintf(stdout, "%-28s %-16s %10s %10s %10s %10s %6s\n", "case", "backend", "img/s", "s/step", "warm-up s", "peak MiB", "cores")
	for _, c := range cases {
		if only != "" && !strings.Contains(c.String(), only) {
			continue
		}
		start := time.Now()
		r, err := runOneCase(self, bk, c)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "%-28s %-16s %10.1f %10.3f %10.1f %10.0f %6.2f   (%s)\n", c, bk, r.ImagesPerSec, r.SecondsStep,
			r.CompileSec, r.PeakRSSMiB, r.Cores, time.Since(start).Round(time.Second))
		if c.Kind == "recon" {
			fmt.Fprintf(stdout, "%-28s one reconstruction step: %.1f ms\n", "", 1000*r.SecondsStep)
		}
	}
	return results, nil
}

// runOneCase measures one case on backend bk in a process of its own (this binary, bench -one).
func runOneCase(self, bk string, c bench.Case) (bench.Result, error) {
	spec, _ := json.Marshal(c)
	cmd := exec.Command(self, "bench", "-backend", bk, "-one", string(spec))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return bench.Result{}, fmt.Errorf("%s on %s: %v\n%s", c, bk, err, errb.String())
	}
	var r bench.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return bench.Result{}, fmt.Errorf("%s on %s: %v (%s)", c, bk, err, out.String())
	}
	return r, nil
}

// peerRow is one case of `bench -peer`: the medians of both sides.
type peerRow struct {
	Case     bench.Case     `json:"case"`
	Ours     []bench.Result `json:"ours"`
	PyTorch  []bench.Result `json:"pytorch"`
	Ratio    float64        `json:"ratio"` // ours ÷ PyTorch, medians of images/s
	OursMed  float64        `json:"ours_images_per_second"`
	PeerMed  float64        `json:"pytorch_images_per_second"`
	OursRSS  float64        `json:"ours_peak_rss_mib"`
	PeerRSS  float64        `json:"pytorch_peak_rss_mib"`
	OursCore float64        `json:"ours_cores"`
	PeerCore float64        `json:"pytorch_cores"`
}

// benchPeer runs the peer cases on backend bk and in PyTorch, interleaved, and prints the comparison.
func benchPeer(bk string, miniBatch, steps int, seconds float64, repeat int, only, jsonOut string, stdout io.Writer) error {
	python, version, err := bench.Peer()
	if err != nil {
		fmt.Fprintf(stdout, "skipping the PyTorch peer: %v\n", err)
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bk = backend.Resolve(bk)
	fmt.Fprintf(stdout, "%s against PyTorch %s (%s), %d interleaved runs of each per case, medians; %d cores\n",
		bk, version, python, repeat, runtime.NumCPU())
	fmt.Fprintf(stdout, "%-26s %12s %12s %7s %10s %10s %6s %6s\n", "case", "ours img/s", "torch img/s", "ratio",
		"ours MiB", "torch MiB", "cores", "torch")
	var rows []peerRow
	for _, c := range bench.PeerCases(steps, seconds, miniBatch) {
		if only != "" && !strings.Contains(c.String(), only) {
			continue
		}
		row := peerRow{Case: c}
		for range repeat {
			r, err := runOneCase(self, bk, c)
			if err != nil {
				return err
			}
			row.Ours = append(row.Ours, r)
			p, err := bench.RunPeer(python, c)
			if err != nil {
				return err
			}
			row.PyTorch = append(row.PyTorch, p)
		}
		row.OursMed, row.OursRSS, row.OursCore = summarize(row.Ours)
		row.PeerMed, row.PeerRSS, row.PeerCore = summarize(row.PyTorch)
		row.Ratio = row.OursMed / row.PeerMed
		name := c.String()
		if c.Kind == "recon" {
			name += fmt.Sprintf(" (torch %d thread)", c.Threads)
		}
		fmt.Fprintf(stdout, "%-26s %12.1f %12.1f %7.2f %10.0f %10.0f %6.2f %6.2f\n", name, row.OursMed, row.PeerMed,
			row.Ratio, row.OursRSS, row.PeerRSS, row.OursCore, row.PeerCore)
		if c.Kind == "recon" {
			fmt.Fprintf(stdout, "%-26s one step: ours %.2f ms, PyTorch %.2f ms\n", "", 1000/row.OursMed, 1000/row.PeerMed)
		}
		rows = append(rows, row)
	}
	if jsonOut != "" {
		data, _ := json.MarshalIndent(rows, "", "  ")
		return provenance.WriteFileAtomic(jsonOut, append(data, '\n'))
	}
	return nil
}

// summarize returns the median images/s, the largest peak RSS and the mean cores of runs.
func summarize(runs []bench.Result) (median, rss, cores float64) {
	speeds := make([]float64, len(runs))
	for i, r := range runs {
		speeds[i] = r.ImagesPerSec
		rss = max(rss, r.PeakRSSMiB)
		cores += r.Cores / float64(len(runs))
	}
	slices.Sort(speeds)
	median = speeds[len(speeds)/2]
	if len(speeds)%2 == 0 {
		median = (speeds[len(speeds)/2-1] + speeds[len(speeds)/2]) / 2
	}
	return median, rss, cores
}

// benchTrainers measures every trainer at a scale, each in its own process (its peak memory its own).
func benchTrainers(backendName, scaleName string, batches int, one string, stdout io.Writer) error {
	scale, err := scales.Lookup(scaleName)
	if err != nil {
		return usageError{err}
	}
	if one != "" {
		b, err := backend.New(backendName)
		if err != nil {
			return err
		}
		root, err := scales.FindRoot("")
		if err != nil {
			return err
		}
		r, err := bench.BenchTrainer(b, &study.Runner{Root: root, Scale: scale}, one, batches)
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
	for _, t := range bench.Trainers {
		cmd := exec.Command(self, "bench", "-backend", backendName, "-scale", scaleName, "-batches", fmt.Sprint(batches), "-trainer-one", t)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("trainer %s: %v\n%s", t, err, errb.String())
		}
		var r bench.TrainerBench
		if err := json.Unmarshal(out.Bytes(), &r); err != nil {
			return fmt.Errorf("trainer %s: %v (%s)", t, err, out.String())
		}
		fmt.Fprintf(stdout, "%-16s %10.1f %10.1f %10.0f\n", t, r.ImagesPerSec, r.Seconds, r.PeakRSSMiB)
	}
	return nil
}
