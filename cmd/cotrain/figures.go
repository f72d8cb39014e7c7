package main

import (
	"fmt"
	"strings"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"io"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

func runFigures(args []string, stdout io.Writer) error {
	fs := newFlagSet("figures", `Regenerate every figure that the cache of the given scale supports and write them as PNG
files, with a provenance.json that records how they were made. Nothing is trained: missing results are reported.`, stdout)
	out := fs.String("out", "figures", "folder to write the figures into")
	scaleName := fs.String("scale", study.Mini.Name, "scale whose cache the figures come from: smoke, mini or paper")
	skipSlow := fs.Bool("quick", false, "skip the figures that simulate at paper scale (about a minute)")
	manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
	photoDir := fs.String("photos-dir", study.PhotoDir, "where `cotrain data fetch` keeps the photographs")
	if err := parse(fs, args); err != nil {
		return err
	}
	scale, err := study.LookupScale(*scaleName)
	if err != nil {
		return usageError{err}
	}
	prov := provenance.New()
	type job struct {
		file  string
		build func() (figures.Figure, error)
	}
	corruptionImage := func() (corrupt.Image, error) {
		photos, err := data.LoadManifest(*manifest)
		if err != nil {
			return corrupt.Image{}, err
		}
		p, err := data.FindPhoto(photos, figures.CorruptionPhoto)
		if err != nil {
			return corrupt.Image{}, err
		}
		pix, err := data.RGBPatch(p, *photoDir, 64)
		return corrupt.Image{H: 64, W: 64, C: 3, Pix: pix}, err
	}
	jobs := []job{
		{"fig1_architecture.png", func() (figures.Figure, error) {
			return figures.Architecture(scale.Model, scale.Neurons, "simulated V1")
		}},
		{"fig9_corruptions.png", func() (figures.Figure, error) {
			img, err := corruptionImage()
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.CorruptionExamples(img, 2, 1, corrupt.PresetImageNetC)
		}},
		{"fig_v1sim_statistics_paper.png", func() (figures.Figure, error) {
			// The simulated population at paper scale (24,075 images, 64×64), simulated in memory (about a minute).
			photos, err := data.LoadManifest(*manifest)
			if err != nil {
				return figures.Figure{}, err
			}
			imgs, err := data.LoadPhotos(photos, *photoDir)
			if err != nil {
				return figures.Figure{}, err
			}
			d, _, err := v1sim.Simulate(imgs, study.Paper.V1, v1sim.DefaultPopulation, study.V1Seed)
			if err != nil {
				return figures.Figure{}, err
			}
			stats := d.Stats()
			fmt.Fprint(stdout, neural.Summary(d, stats))
			return figures.NeuralStatistics(stats, true, "paper scale")
		}},
		{"corruptions_all_severities.png", func() (figures.Figure, error) {
			img, err := corruptionImage()
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.CorruptionGrid(img, 1, corrupt.PresetImageNetC)
		}},
	}
	var written []string
	for _, j := range jobs {
		if *skipSlow && strings.Contains(j.file, "_paper") {
			continue
		}
		fig, err := j.build()
		if err != nil {
			return fmt.Errorf("%s: %w", j.file, err)
		}
		path := filepath.Join(*out, j.file)
		if err := fig.Save(path); err != nil {
			return err
		}
		written = append(written, j.file)
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return provenance.WriteJSON(filepath.Join(*out, "provenance.json"), struct {
		Scale      string             `json:"scale"`
		Files      []string           `json:"files"`
		Provenance *provenance.Record `json:"provenance"`
	}{scale.Name, written, prov.Finish()})
}
