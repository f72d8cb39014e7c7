package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

func runV1sim(args []string, stdout io.Writer) error {
	fs := newFlagSet("v1sim", `Simulate the virtual monkey: a population of model V1 neurons (SIMULATED, standing in for the
paper's recordings) shown grey natural-photo patches with the paper's protocol (sessions, training trials, repeated
test images), written in the neural dataset format (pkg/neural) with the ground truth (noise-free responses and true
explainable variance). Same scale and seed, same files byte for byte.`, stdout)
	scaleName := fs.String("scale", study.Mini.Name, "smoke, mini or paper")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output folder (default data/cache/<scale>/v1sim)")
	manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
	photoDir := fs.String("photos-dir", study.PhotoDir, "the manifest's photographs (cotrain data fetch)")
	userPhotos := fs.String("photos", "", "use this folder of your own JPEG/PNG photos instead of the manifest's")
	if err := parse(fs, args); err != nil {
		return err
	}
	scale, err := study.LookupScale(*scaleName)
	if err != nil {
		return usageError{err}
	}
	if *out == "" {
		*out = filepath.Join(study.CacheDir(scale), "v1sim")
	}
	var photos []data.PhotoImage
	if *userPhotos != "" {
		photos, err = data.LoadPhotoDir(*userPhotos)
	} else {
		var list []data.Photo
		if list, err = data.LoadManifest(*manifest); err == nil {
			photos, err = data.LoadPhotos(list, *photoDir)
		}
	}
	if err != nil {
		return err
	}
	d, _, err := v1sim.Simulate(photos, scale.V1, v1sim.DefaultPopulation, *seed)
	if err != nil {
		return err
	}
	// Provenance without the date and wall time, so that the same command and seed give the same bytes.
	commit, _ := provenance.Commit()
	d.Meta.Provenance = map[string]any{"command": provenance.New().Command, "commit": commit, "seed": *seed,
		"scale": scale.Name, "protocol": scale.V1, "population": v1sim.DefaultPopulation}
	if err := d.Write(*out); err != nil {
		return err
	}
	fmt.Fprint(stdout, neural.Summary(d, d.Stats()))
	fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

func runNeural(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "stats" {
		fmt.Fprint(stdout, "Usage: cotrain neural stats -data DIR [-json]\n\n  stats  per-neuron FEV (and, for simulated data, the true explainable variance), mean counts and Fano factors\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return nil
		}
		return usageError{fmt.Errorf("want: cotrain neural stats")}
	}
	fs := newFlagSet("neural stats", `Print the statistics of a neural dataset: per-neuron fraction of explainable variance (FEV)
from the repeated test images, the simulator's true explainable variance for simulated data, mean spike counts, Fano
factors and oracle correlations.`, stdout)
	dir := fs.String("data", "", "neural dataset folder (required)")
	asJSON := fs.Bool("json", false, "one JSON record per neuron (fields session, neuron, fev, true_ev, mean_count, fano, oracle_corr, repeats)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return usageError{fmt.Errorf("-data is required")}
	}
	d, err := neural.Load(*dir)
	if err != nil {
		return err
	}
	stats := d.Stats()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, s := range stats {
			if err := enc.Encode(sanitizeNaN(s)); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprint(stdout, neural.Summary(d, stats))
	fmt.Fprintf(stdout, "%-10s %6s %7s %7s %7s %7s\n", "session", "neuron", "fev", "true_ev", "count", "fano")
	for _, s := range stats {
		tev := "-"
		if s.TrueFEV != nil {
			tev = fmt.Sprintf("%.3f", *s.TrueFEV)
		}
		fmt.Fprintf(stdout, "%-10s %6d %7.3f %7s %7.2f %7.2f\n", s.Session, s.Neuron, s.FEV, tev, s.MeanCount, s.Fano)
	}
	return nil
}

// sanitizeNaN replaces NaN (which JSON cannot hold) by -1 in the fields that can be undefined.
func sanitizeNaN(s neural.NeuronStats) neural.NeuronStats {
	for _, v := range []*float64{&s.FEV, &s.Fano, &s.OracleCorr, &s.MeanCount} {
		if *v != *v {
			*v = -1
		}
	}
	return s
}
