package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

func runV1sim(args []string, stdout io.Writer) error {
	fs := newFlagSet("v1sim", `Simulate the virtual monkey: a population of model V1 neurons (SIMULATED, standing in for the
paper's recordings) shown grey images with the paper's protocol (sessions, training trials, repeated test images),
written in the neural dataset format (pkg/neural) with the ground truth (noise-free responses and true explainable
variance). The stimuli are, as in the study, Fashion-MNIST images held out of every classification split, or patches
of natural photographs (-natural, or -photos for your own). Same scale, seed and stimuli, same files byte for byte.

Without -out the recording replaces the one in the scale's cache (under the scale's lock): "cotrain status" then shows
it, and everything made from the previous recording, as stale unless it is the study's own (seed 1, held-out images).`, stdout)
	scaleName := fs.String("scale", scales.Mini.Name, "smoke, mini, gpu or paper")
	seed := fs.Uint64("seed", study.V1Seed, "random seed")
	out := fs.String("out", "", "output folder (default: the scale's cache, data/cache/<scale>/v1sim)")
	natural := fs.Bool("natural", false, "show patches of the manifest's natural photographs instead of held-out Fashion-MNIST images")
	manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "with -natural: the photo manifest")
	photoDir := fs.String("photos-dir", scales.PhotoDir, "with -natural: the manifest's photographs (cotrain data fetch)")
	userPhotos := fs.String("photos", "", "show patches of this folder of your own JPEG/PNG photos")
	if err := parse(fs, args); err != nil {
		return err
	}
	scale, err := scales.Lookup(*scaleName)
	if err != nil {
		return usageError{err}
	}
	root, err := inRepository(fs, "manifest", "photos-dir")
	if err != nil {
		return err
	}
	var photos []data.PhotoImage
	switch {
	case *userPhotos != "":
		photos, err = data.LoadPhotoDir(*userPhotos)
	case *natural:
		var list []data.Photo
		if list, err = data.LoadManifest(*manifest); err == nil {
			photos, err = data.LoadPhotos(list, *photoDir)
		}
	}
	if err != nil {
		return err
	}
	r := &study.Runner{Root: root, Scale: scale, Log: os.Stderr}
	var d *neural.Dataset
	if abs, _ := filepath.Abs(*out); *out == "" || abs == r.Dir(study.V1Stage) {
		*out = r.Dir(study.V1Stage)
		d, err = r.RecordV1(*seed, photos)
	} else {
		d, err = r.SimulateV1(*seed, photos)
		if err == nil {
			err = d.Write(*out)
		}
	}
	if err != nil {
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
			if err := enc.Encode(s); err != nil {
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
