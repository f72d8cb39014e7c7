package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/calibrate"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// figureJob is one output of `cotrain figures`: a figure (PNG) or a set of tables (Markdown).
type figureJob struct {
	name, file, what string
	slow             bool // simulates at paper scale (about a minute)
	figure           func(*figureInputs) (figures.Figure, error)
	text             func(*figureInputs) (string, error)
}

// figureInputs loads what the figures are made from, once, when a figure first asks for it.
type figureInputs struct {
	scale              scales.Scale
	runner             *study.Runner
	manifest, photoDir string
	stdout             io.Writer

	results    []figures.ModelResult
	robustness *eval.Robustness
	analysis   *analysis.Result
}

func (in *figureInputs) table1() ([]figures.ModelResult, error) {
	if in.results == nil {
		res, err := figures.Table1Results(in.runner)
		if err != nil {
			return nil, err
		}
		if len(res) == 0 || res[0].Seeds == 0 {
			return nil, fmt.Errorf("no trained models in the %s cache (cotrain reproduce -scale %s)", in.scale.Name, in.scale.Name)
		}
		in.results = res
	}
	return in.results, nil
}

func (in *figureInputs) section3() (*eval.Robustness, error) {
	if in.robustness == nil {
		res, err := in.runner.LoadRobustness()
		if err != nil {
			return nil, err
		}
		in.robustness = res
	}
	return in.robustness, nil
}

func (in *figureInputs) section4() (*analysis.Result, error) {
	if in.analysis == nil {
		a, err := in.runner.LoadAnalysis()
		if err != nil {
			return nil, err
		}
		in.analysis = a
	}
	return in.analysis, nil
}

// corruptionImage is the photograph of Fig. 9, in colour, 64×64.
func (in *figureInputs) corruptionImage() (corrupt.Image, error) {
	photos, err := data.LoadManifest(in.manifest)
	if err != nil {
		return corrupt.Image{}, err
	}
	p, err := data.FindPhoto(photos, figures.CorruptionPhoto)
	if err != nil {
		return corrupt.Image{}, err
	}
	pix, err := data.RGBPatch(p, in.photoDir, 64)
	return corrupt.Image{H: 64, W: 64, C: 3, Pix: pix}, err
}

// section3Figure and section4Figure adapt a figure of Section 3's or 4's results.
func section3Figure(f func(*eval.Robustness) (figures.Figure, error)) func(*figureInputs) (figures.Figure, error) {
	return func(in *figureInputs) (figures.Figure, error) {
		res, err := in.section3()
		if err != nil {
			return figures.Figure{}, err
		}
		return f(res)
	}
}

func section4Figure(f func(*analysis.Result) (figures.Figure, error)) func(*figureInputs) (figures.Figure, error) {
	return func(in *figureInputs) (figures.Figure, error) {
		a, err := in.section4()
		if err != nil {
			return figures.Figure{}, err
		}
		return f(a)
	}
}

// figureJobs lists every output, in the order of the paper.
var figureJobs = []figureJob{
	{name: "fig1", file: "fig1_architecture.png", what: "Fig. 1: the multi-task architecture",
		figure: func(in *figureInputs) (figures.Figure, error) {
			return figures.Architecture(in.scale.Model, in.scale.Neurons, "simulated V1")
		}},
	{name: "table1", file: "table1.md", what: "Table 1: the models, with their accuracy and FEVe",
		text: func(in *figureInputs) (string, error) {
			res, err := in.table1()
			if err != nil {
				return "", err
			}
			return figures.Table1(res).Markdown(), nil
		}},
	{name: "curves", file: "fig_training_curves.png", what: "training curves of Table 1's models (first seed)",
		figure: func(in *figureInputs) (figures.Figure, error) {
			res, err := in.table1()
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.Table1Curves(res)
		}},
	{name: "oraclestep", file: "fig_oracle_same_step.png",
		what: "the Oracle's first stage against the Baseline at the same step, on the same held-out images",
		figure: func(in *figureInputs) (figures.Figure, error) {
			runs, err := calibrate.CachedSameSteps(in.runner)
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.OracleSameStep(in.scale.Name, runs)
		}},
	{name: "v1sim", file: "fig_v1sim_statistics_paper.png", slow: true,
		what: "statistics of the SIMULATED V1 population at paper scale (simulated in memory)",
		figure: func(in *figureInputs) (figures.Figure, error) {
			photos, err := data.LoadManifest(in.manifest)
			if err != nil {
				return figures.Figure{}, err
			}
			imgs, err := data.LoadPhotos(photos, in.photoDir)
			if err != nil {
				return figures.Figure{}, err
			}
			d, _, err := v1sim.Simulate(imgs, scales.Paper.V1, v1sim.DefaultPopulation, study.V1Seed)
			if err != nil {
				return figures.Figure{}, err
			}
			stats := d.Stats()
			fmt.Fprint(in.stdout, neural.Summary(d, stats))
			return figures.NeuralStatistics(stats, true, "paper scale")
		}},
	{name: "fig2", file: "fig2_severities.png", what: "Fig. 2: accuracy per severity, Baseline and MTL-Monkey",
		figure: section3Figure(figures.Fig2)},
	{name: "fig3a", file: "fig3a_categories.png", what: "Fig. 3A: robustness per corruption category",
		figure: section3Figure(figures.Fig3A)},
	{name: "fig3b", file: "fig3b_total.png", what: "Fig. 3B: total robustness score", figure: section3Figure(figures.Fig3B)},
	{name: "fig3c", file: "fig3c_regression.png", what: "Fig. 3C: robustness against FEVe over the batch-ratio sweep",
		figure: section3Figure(figures.Fig3C)},
	{name: "tables3", file: "tables_section3.md", what: "Tables 2 and 3 and the regression of Fig. 3C",
		text: func(in *figureInputs) (string, error) {
			res, err := in.section3()
			if err != nil {
				return "", err
			}
			return figures.Table2(res).Markdown() + "\n" + figures.Table3(res).Markdown() + "\n" +
				figures.RegressionTable(res).Markdown(), nil
		}},
	{name: "findings", file: "findings.md", what: "Findings: the paper's claims against this reproduction, with verdicts",
		text: func(in *figureInputs) (string, error) {
			res, err := in.section3()
			if err != nil {
				return "", err
			}
			a, _ := in.section4() // Section 4's rows are left out without the analysis
			return figures.Findings(res, a).Markdown(), nil
		}},
	{name: "fig4", file: "fig4_toy.png", what: "Fig. 4: norm-constrained optima of a toy quadratic",
		figure: func(*figureInputs) (figures.Figure, error) { return figures.Fig4(recon.Fig4Problem(), recon.Fig4Norms) }},
	{name: "fig5", file: "fig5_reconstructions.png", what: "Fig. 5: reconstructions from conv3_1 under each norm",
		figure: section4Figure(func(a *analysis.Result) (figures.Figure, error) { return figures.Fig5(a, 0) })},
	{name: "fig6", file: "fig6_saliency.png", what: "Fig. 6: saliency map, mask and the reconstructions' ϱ̄",
		figure: section4Figure(func(a *analysis.Result) (figures.Figure, error) { return figures.Fig6FromAnalysis(a, 0) })},
	{name: "fig7", file: "fig7_ratio_scatter.png", what: "Fig. 7: ϱ̄ of MTL-Monkey against the other models",
		figure: section4Figure(figures.Fig7FromAnalysis)},
	{name: "fig8", file: "fig8_all_corruptions.png", what: "Fig. 8: accuracy per severity for every corruption",
		figure: section3Figure(figures.Fig8)},
	{name: "fig9", file: "fig9_corruptions.png", what: "Fig. 9: the corruptions on one photograph",
		figure: func(in *figureInputs) (figures.Figure, error) {
			img, err := in.corruptionImage()
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.CorruptionExamples(img, 2, 1, corrupt.PresetImageNetC)
		}},
	{name: "corruptions", file: "corruptions_all_severities.png", what: "every corruption at every severity",
		figure: func(in *figureInputs) (figures.Figure, error) {
			img, err := in.corruptionImage()
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.CorruptionGrid(img, 1, corrupt.PresetImageNetC)
		}},
	{name: "fig12", file: "fig12_resolution.png", what: "Fig. 12: the Monkey Predictor's resolution search",
		figure: func(in *figureInputs) (figures.Figure, error) {
			points, err := figures.ResolutionResults(in.runner)
			if err != nil {
				return figures.Figure{}, err
			}
			return figures.Fig12(points, in.scale.V1.PPD, in.scale.Name)
		}},
}

// figuresProvenance is figures/provenance.json: how each file was made (a file regenerated alone with -only gets a
// record of its own; the others keep theirs).
type figuresProvenance struct {
	Scale string                        `json:"scale"`
	Files map[string]*provenance.Record `json:"files"`
}

func runFigures(args []string, stdout io.Writer) error {
	fs := newFlagSet("figures", `Regenerate the figures and tables that the cache of the given scale supports and write them (PNG,
Markdown) into a folder, with a provenance.json that records how each file was made. Nothing is trained: what the
cache lacks is reported and skipped. -only regenerates named figures alone, in seconds; -list names them.`, stdout)
	out := fs.String("out", "figures", "folder to write the figures into")
	scaleName := fs.String("scale", scales.Mini.Name, "scale whose cache the figures come from: smoke, mini, gpu or paper")
	skipSlow := fs.Bool("quick", false, "skip the figures that simulate at paper scale (about a minute)")
	only := fs.String("only", "", "comma-separated names of the figures to make (see -list), e.g. fig3c,table1")
	list := fs.Bool("list", false, "list the figures' names and files, and exit")
	manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
	photoDir := fs.String("photos-dir", scales.PhotoDir, "where 'cotrain data fetch' keeps the photographs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list {
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		for _, j := range figureJobs {
			fmt.Fprintf(w, "%s\t%s\t%s\n", j.name, j.file, j.what)
		}
		return w.Flush()
	}
	scale, err := scales.Lookup(*scaleName)
	if err != nil {
		return usageError{err}
	}
	root, err := inRepository(fs, "out", "manifest", "photos-dir")
	if err != nil {
		return err
	}
	jobs, err := selectFigures(*only, *skipSlow)
	if err != nil {
		return usageError{err}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	in := &figureInputs{scale: scale, runner: &study.Runner{Root: root, Scale: scale}, manifest: *manifest,
		photoDir: *photoDir, stdout: stdout}
	prov := provenance.New()
	var written []string
	for _, j := range jobs {
		path := filepath.Join(*out, j.file)
		if err := writeFigure(j, in, path); err != nil {
			if *only == "" && isMissingResult(err) {
				fmt.Fprintf(stdout, "skipping %s (%s): %v\n", j.name, j.file, err)
				continue
			}
			return fmt.Errorf("%s (%s): %w", j.name, j.file, err)
		}
		written = append(written, j.file)
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return recordFigures(filepath.Join(*out, "provenance.json"), scale.Name, written, prov.Finish(), *only != "")
}

// selectFigures returns the jobs named in only (all when empty), refusing unknown names.
func selectFigures(only string, skipSlow bool) ([]figureJob, error) {
	if only == "" {
		var jobs []figureJob
		for _, j := range figureJobs {
			if !(skipSlow && j.slow) {
				jobs = append(jobs, j)
			}
		}
		return jobs, nil
	}
	var names []string
	for _, j := range figureJobs {
		names = append(names, j.name)
	}
	var jobs []figureJob
	for _, name := range strings.Split(only, ",") {
		i := slices.Index(names, strings.ToLower(strings.TrimSpace(name)))
		if i < 0 {
			return nil, fmt.Errorf("-only: no figure %q: want one of %s", name, strings.Join(names, ", "))
		}
		jobs = append(jobs, figureJobs[i])
	}
	return jobs, nil
}

// writeFigure makes one output and writes it to path.
func writeFigure(j figureJob, in *figureInputs, path string) error {
	if j.text != nil {
		text, err := j.text(in)
		if err != nil {
			return err
		}
		return provenance.WriteFileAtomic(path, []byte(text))
	}
	fig, err := j.figure(in)
	if err != nil {
		return err
	}
	if err := fig.Check(); err != nil {
		return fmt.Errorf("unreadable figure: %w", err)
	}
	return fig.Save(path)
}

// isMissingResult reports whether an error says the cache lacks a stage's results (as opposed to a failure).
func isMissingResult(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, figures.ErrNotInStudy) || strings.Contains(err.Error(), "not in the cache") ||
		strings.Contains(err.Error(), "no trained models")
}

// recordFigures writes provenance.json for the files written; with merge, the records of other files made earlier
// for the same scale are kept.
func recordFigures(file, scale string, written []string, rec *provenance.Record, merge bool) error {
	p := figuresProvenance{Scale: scale, Files: map[string]*provenance.Record{}}
	if merge {
		var old figuresProvenance
		if b, err := os.ReadFile(file); err == nil && json.Unmarshal(b, &old) == nil && old.Scale == scale && old.Files != nil {
			p.Files = old.Files
		}
	}
	for _, f := range written {
		p.Files[f] = rec
	}
	return provenance.WriteJSON(file, p)
}
