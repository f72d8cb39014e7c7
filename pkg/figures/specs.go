package figures

import (
	"errors"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/scales"
)

// Need names a result that figures are drawn from.
type Need string

// The results the figures need.
const (
	NeedModels     Need = "Table 1's models"
	NeedRobustness Need = "Section 3's robustness analysis"
	NeedAnalysis   Need = "Section 4's reconstruction analysis"
	NeedResolution Need = "the appendix's resolution search"
	NeedSameStep   Need = "the Oracle's same-step comparison"
	NeedPhoto      Need = "the photograph of Fig. 9"
	NeedPaperV1    Need = "the SIMULATED V1 population at paper scale"
	NeedGPU        Need = "the gpu scale's robustness analysis (a column of the Findings)"
)

// Inputs are the loaded results that figures are drawn from: plain values, loaded by the caller (`cotrain figures`
// loads what the chosen figures need, from stages that the cache's status calls done). A result that could not be
// loaded is nil, with the reason in Missing.
type Inputs struct {
	Scale      scales.Scale
	Models     []results.ModelResult
	Robustness *eval.Robustness
	Analysis   *analysis.Result
	Resolution []results.ResolutionPoint
	SameStep   []*results.SameStepRun
	Photo      *corrupt.Image       // the photograph of Fig. 9, 64×64 RGB
	PaperV1    []neural.NeuronStats // statistics of the simulated population at paper scale
	GPU        *eval.Robustness     // the gpu scale's Section 3, for the Findings' column of that scale (nil: not run)
	Missing    map[Need]error
}

// missing is the typed error of a result that is not there (a *results.MissingError).
func (in *Inputs) missing(n Need) error {
	err := in.Missing[n]
	if err == nil {
		err = results.ErrMissing
	}
	return &results.MissingError{Result: string(n), Err: err}
}

// Spec is one output of `cotrain figures`: a figure (PNG) or tables (Markdown), the function that draws it and the
// notebook cell that shows it.
type Spec struct {
	Name, File, What string
	Function         string // the function of this package that draws it
	Notebook         string // the notebook and cell that show it ("" for none), e.g. "03_results.ipynb, In [6]"
	Needs            []Need
	Slow             bool // simulates at paper scale (about a minute)
	Figure           func(*Inputs) (Figure, error)
	Text             func(*Inputs) (string, error)
}

// section3 and section4 draw a figure from Section 3's or 4's results.
func section3(f func(*eval.Robustness) (Figure, error)) func(*Inputs) (Figure, error) {
	return func(in *Inputs) (Figure, error) {
		if in.Robustness == nil {
			return Figure{}, in.missing(NeedRobustness)
		}
		return f(in.Robustness)
	}
}

func section4(f func(*analysis.Result) (Figure, error)) func(*Inputs) (Figure, error) {
	return func(in *Inputs) (Figure, error) {
		if in.Analysis == nil {
			return Figure{}, in.missing(NeedAnalysis)
		}
		return f(in.Analysis)
	}
}

func fromModels(f func([]results.ModelResult) (Figure, error)) func(*Inputs) (Figure, error) {
	return func(in *Inputs) (Figure, error) {
		if len(in.Models) == 0 {
			return Figure{}, in.missing(NeedModels)
		}
		return f(in.Models)
	}
}

func photo(f func(corrupt.Image) (Figure, error)) func(*Inputs) (Figure, error) {
	return func(in *Inputs) (Figure, error) {
		if in.Photo == nil {
			return Figure{}, in.missing(NeedPhoto)
		}
		return f(*in.Photo)
	}
}

// Specs are every output of `cotrain figures`, in the order of the paper: what `cotrain figures -list` prints, what
// the README's table of figures shows, and what the tests walk.
var Specs = []Spec{
	{Name: "fig1", File: "fig1_architecture.png", What: "Fig. 1: the multi-task architecture", Function: "Architecture",
		Notebook: "00_overview.ipynb, In [3]",
		Figure: func(in *Inputs) (Figure, error) {
			return Architecture(in.Scale.Model, in.Scale.Neurons, "simulated V1")
		}},
	{Name: "table1", File: "table1.md", What: "Table 1: the models, with their accuracy and FEVe", Function: "Table1",
		Notebook: "02_neural_mtl.ipynb, In [14]", Needs: []Need{NeedModels},
		Text: func(in *Inputs) (string, error) {
			if len(in.Models) == 0 {
				return "", in.missing(NeedModels)
			}
			return Table1(in.Models).Markdown(), nil
		}},
	{Name: "curves", File: "fig_training_curves.png", What: "training curves of Table 1's models (first seed)",
		Function: "Table1Curves", Notebook: "02_neural_mtl.ipynb, In [15]", Needs: []Need{NeedModels},
		Figure: fromModels(Table1Curves)},
	{Name: "oraclestep", File: "fig_oracle_same_step.png",
		What:     "the Oracle's first stage against the Baseline at the same step, on the same held-out images",
		Function: "OracleSameStep", Notebook: "02_neural_mtl.ipynb, In [16]", Needs: []Need{NeedSameStep},
		Figure: func(in *Inputs) (Figure, error) {
			if len(in.SameStep) == 0 {
				return Figure{}, in.missing(NeedSameStep)
			}
			return OracleSameStep(in.Scale.Name, in.SameStep)
		}},
	{Name: "v1sim", File: "fig_v1sim_statistics_paper.png", Slow: true, Function: "NeuralStatistics",
		What: "statistics of the SIMULATED V1 population at paper scale (simulated in memory)", Needs: []Need{NeedPaperV1},
		Figure: func(in *Inputs) (Figure, error) {
			if len(in.PaperV1) == 0 {
				return Figure{}, in.missing(NeedPaperV1)
			}
			return NeuralStatistics(in.PaperV1, true, "paper scale")
		}},
	{Name: "fig2", File: "fig2_severities.png", What: "Fig. 2: accuracy per severity, Baseline and MTL-Monkey",
		Function: "Fig2", Notebook: "03_results.ipynb, In [6]", Needs: []Need{NeedRobustness}, Figure: section3(Fig2)},
	{Name: "fig3a", File: "fig3a_categories.png", What: "Fig. 3A: robustness per corruption category", Function: "Fig3A",
		Notebook: "03_results.ipynb, In [7]", Needs: []Need{NeedRobustness}, Figure: section3(Fig3A)},
	{Name: "fig3b", File: "fig3b_total.png", What: "Fig. 3B: total robustness score", Function: "Fig3B",
		Notebook: "03_results.ipynb, In [7]", Needs: []Need{NeedRobustness}, Figure: section3(Fig3B)},
	{Name: "fig3c", File: "fig3c_regression.png", What: "Fig. 3C: robustness against FEVe over the batch-ratio sweep",
		Function: "Fig3C", Notebook: "03_results.ipynb, In [8]", Needs: []Need{NeedRobustness}, Figure: section3(Fig3C)},
	{Name: "tables3", File: "tables_section3.md", What: "Tables 2 and 3 and the regression of Fig. 3C",
		Function: "Table2, Table3, RegressionTable", Notebook: "03_results.ipynb, In [5], In [7], In [8]",
		Needs: []Need{NeedRobustness},
		Text: func(in *Inputs) (string, error) {
			if in.Robustness == nil {
				return "", in.missing(NeedRobustness)
			}
			return Table2(in.Robustness).Markdown() + "\n" + Table3(in.Robustness).Markdown() + "\n" +
				RegressionTable(in.Robustness).Markdown(), nil
		}},
	{Name: "findings", File: "findings.md", What: "Findings: the paper's claims against this reproduction, with verdicts",
		Function: "Findings", Notebook: "00_overview.ipynb, In [4]; 03_results.ipynb, In [11]",
		Needs: []Need{NeedRobustness, NeedAnalysis, NeedResolution, NeedGPU},
		Text: func(in *Inputs) (string, error) {
			if in.Robustness == nil {
				return "", in.missing(NeedRobustness)
			}
			// Section 4's rows need the analysis, Fig. 12's the resolution search: left out where the scale runs none.
			for _, n := range []Need{NeedAnalysis, NeedResolution} {
				if err := in.Missing[n]; err != nil && !errors.Is(err, results.ErrNotInStudy) {
					return "", in.missing(n)
				}
			}
			t := Findings(in.Robustness, in.Analysis, in.Resolution)
			if in.Scale.Name != "gpu" {
				AddScaleColumn(&t, "gpu", in.GPU)
			}
			return t.Markdown(), nil
		}},
	{Name: "fig4", File: "fig4_toy.png", What: "Fig. 4: norm-constrained optima of a toy quadratic", Function: "Fig4",
		Notebook: "04_analysis.ipynb, In [3]",
		Figure:   func(*Inputs) (Figure, error) { return Fig4(recon.Fig4Problem(), recon.Fig4Norms) }},
	{Name: "fig5", File: "fig5_reconstructions.png", What: "Fig. 5: reconstructions of four noisy images under the paper's norms 5, 15, 60",
		Function: "Fig5", Notebook: "04_analysis.ipynb, In [5]", Needs: []Need{NeedAnalysis}, Figure: section4(Fig5)},
	{Name: "fig10", File: "fig10_reconstructions.png", What: "Fig. 10: one noisy image reconstructed under every norm",
		Function: "Fig10", Notebook: "04_analysis.ipynb, In [5]", Needs: []Need{NeedAnalysis},
		Figure: section4(func(a *analysis.Result) (Figure, error) { return Fig10(a, 0) })},
	{Name: "fig6", File: "fig6_saliency.png", What: "Fig. 6: saliency map, mask and the reconstructions' ϱ̄",
		Function: "Fig6FromAnalysis", Notebook: "04_analysis.ipynb, In [7]", Needs: []Need{NeedAnalysis},
		Figure: section4(func(a *analysis.Result) (Figure, error) { return Fig6FromAnalysis(a, 0) })},
	{Name: "fig7", File: "fig7_ratio_scatter.png", What: "Fig. 7: ϱ̄ of MTL-Monkey against the other models",
		Function: "Fig7FromAnalysis", Notebook: "04_analysis.ipynb, In [8]", Needs: []Need{NeedAnalysis},
		Figure: section4(Fig7FromAnalysis)},
	{Name: "fig8", File: "fig8_all_corruptions.png", What: "Fig. 8: accuracy per severity for every corruption",
		Function: "Fig8", Notebook: "03_results.ipynb, In [9]", Needs: []Need{NeedRobustness}, Figure: section3(Fig8)},
	{Name: "fig9", File: "fig9_corruptions.png", What: "Fig. 9: the corruptions on one photograph",
		Function: "CorruptionExamples", Notebook: "A_appendix.ipynb, In [3]", Needs: []Need{NeedPhoto},
		Figure: photo(func(img corrupt.Image) (Figure, error) {
			return CorruptionExamples(img, 2, 1, corrupt.PresetImageNetC)
		})},
	{Name: "corruptions", File: "corruptions_all_severities.png", What: "every corruption at every severity",
		Function: "CorruptionGrid", Notebook: "A_appendix.ipynb, In [4]", Needs: []Need{NeedPhoto},
		Figure: photo(func(img corrupt.Image) (Figure, error) { return CorruptionGrid(img, 1, corrupt.PresetImageNetC) })},
	{Name: "fig12", File: "fig12_resolution.png", What: "Fig. 12: the Monkey Predictor's resolution search",
		Function: "Fig12", Notebook: "A_appendix.ipynb, In [6]", Needs: []Need{NeedResolution},
		Figure: func(in *Inputs) (Figure, error) {
			if len(in.Resolution) == 0 {
				return Figure{}, in.missing(NeedResolution)
			}
			return Fig12(in.Resolution, in.Scale.V1.PPD, in.Scale.Name)
		}},
}
