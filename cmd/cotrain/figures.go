package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/recon"

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
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
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
	// Figures of the study's results, where the cache holds them.
	runner := &study.Runner{Root: ".", Scale: scale}
	if results, err := runner.Results(); err == nil && len(results) > 0 && results[0].Seeds > 0 {
		jobs = append(jobs, job{"fig_training_curves.png", func() (figures.Figure, error) { return figures.Table1Curves(results) }})
		if err := writeText(filepath.Join(*out, "table1.md"), figures.Table1(results).Markdown()); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "no trained models in the %s cache: skipping Table 1 and the training curves (cotrain reproduce -scale %s)\n", scale.Name, scale.Name)
	}
	if res, err := runner.LoadRobustness(); err == nil {
		for _, f := range []struct {
			file  string
			build func(*study.Robustness) (figures.Figure, error)
		}{{"fig2_severities.png", figures.Fig2}, {"fig3a_categories.png", figures.Fig3A}, {"fig3b_total.png", figures.Fig3B},
			{"fig3c_regression.png", figures.Fig3C}, {"fig8_all_corruptions.png", figures.Fig8}} {
			jobs = append(jobs, job{f.file, func() (figures.Figure, error) { return f.build(res) }})
		}
		tables := figures.Table2(res).Markdown() + "\n" + figures.Table3(res).Markdown() + "\n" + figures.RegressionTable(res).Markdown()
		if err := writeText(filepath.Join(*out, "tables_section3.md"), tables); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "skipping Section 3 figures: %v\n", err)
	}
	jobs = append(jobs, job{"fig4_toy.png", func() (figures.Figure, error) {
		return figures.Fig4(recon.Fig4Problem(), []float64{0.75, 1.5, 2.5})
	}})
	if a, err := runner.LoadReconAnalysis(); err == nil {
		jobs = append(jobs,
			job{"fig5_reconstructions.png", func() (figures.Figure, error) { return figures.Fig5(a, 0) }},
			job{"fig6_saliency.png", func() (figures.Figure, error) { return figures.Fig6FromAnalysis(a, 0) }},
			job{"fig7_ratio_scatter.png", func() (figures.Figure, error) { return figures.Fig7FromAnalysis(a) }})
	} else {
		fmt.Fprintf(stdout, "skipping Section 4 figures: %v\n", err)
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

func writeText(path, text string) error { return provenance.WriteFileAtomic(path, []byte(text)) }
