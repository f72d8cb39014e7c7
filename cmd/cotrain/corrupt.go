package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/robustvision/cotrain/pkg/corrupt"
)

func runCorrupt(args []string, stdout io.Writer) error {
	fs := newFlagSet("corrupt", `Apply ImageNet-C corruptions (pure Go, deterministic for a seed) to PNG images. With one input
file, one corruption and one severity, -out is the output PNG; otherwise -out is a folder that receives
<input>_<corruption>_s<severity>.png for every combination. Grayscale PNGs stay grayscale (corrupted as RGB and
converted back with PIL's L weights, as the paper's pipeline).

Corruptions: `+strings.Join(corrupt.Names(), ", "), stdout)
	name := fs.String("name", "all", "corruption name, a comma-separated list, or all")
	severity := fs.String("severity", "all", "severity 1…5, a comma-separated list, or all")
	seed := fs.Uint64("seed", 0, "random seed (image i of a folder uses seed+i)")
	preset := fs.String("preset", string(corrupt.PresetImageNetC), "severity table: imagenet-c (what the paper used) or tiny-imagenet-c")
	in := fs.String("in", "", "input PNG file or folder of PNG files (required)")
	out := fs.String("out", "", "output PNG file or folder (required)")
	maxMemory := fs.Int64("max-memory", corrupt.MemoryBudget>>20, "MiB a corruption may use: larger images are refused "+
		"before they are decoded (about 120 bytes per pixel; the default takes images up to about 4,000 × 4,000)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *maxMemory < 1 || *maxMemory > 1<<30 {
		return usageError{fmt.Errorf("-max-memory %d: want a number of MiB from 1 up", *maxMemory)}
	}
	corrupt.MemoryBudget = *maxMemory << 20
	if *in == "" || *out == "" {
		return usageError{fmt.Errorf("-in and -out are required")}
	}
	p, err := corrupt.ParsePreset(*preset)
	if err != nil {
		return usageError{fmt.Errorf("-preset: %w", err)}
	}
	names := corrupt.Names()
	if *name != "all" {
		names = strings.Split(*name, ",")
		for _, n := range names {
			if _, err := corrupt.Lookup(n); err != nil {
				return usageError{fmt.Errorf("-name: %w", err)}
			}
		}
	}
	sevs := []int{1, 2, 3, 4, 5}
	if *severity != "all" {
		sevs = nil
		for _, s := range strings.Split(*severity, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v < 1 || v > 5 {
				return usageError{fmt.Errorf("-severity %q: want 1 to 5, a comma-separated list, or all", s)}
			}
			sevs = append(sevs, v)
		}
	}
	job := corrupt.FileJob{Names: names, Severities: sevs, Seed: *seed, Preset: p, In: *in, Out: *out}
	written, err := job.Run(func(done, total int) {
		if done%50 == 0 || done == total {
			fmt.Fprintf(stdout, "\r%d/%d images", done, total)
		}
	})
	if len(written) > 0 {
		fmt.Fprintln(stdout)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d images (preset %s, seed %d)\n", len(written), p, *seed)
	return nil
}
