package figures

import (
	"fmt"
	"sort"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/saliency"
	"gonum.org/v1/gonum/stat"
)

// Fig5 is the reconstruction grid of one analysis image (Fig. 5; Fig. 10 and 11 for more images): each model's
// reconstruction from conv3_1 under every norm constraint, and the spectral control of MTL-Monkey's.
func Fig5(a *analysis.Result, image int) (Figure, error) {
	if image < 0 || image >= len(a.Photos) {
		return Figure{}, fmt.Errorf("fig 5: image %d of %d", image, len(a.Photos))
	}
	var rows []ReconstructionRow
	for m, name := range a.Models {
		rows = append(rows, ReconstructionRow{Label: name, Images: a.Recons[m][image]})
	}
	rows = append(rows, ReconstructionRow{Label: "spectral control", Images: a.SpectralImgs[image]})
	return ReconstructionGrid(fmt.Sprintf("conv3_1 reconstructions, image %d (%d steps)", image, a.Steps),
		a.Targets[image], a.Size, a.Norms, rows)
}

// Fig6FromAnalysis is Fig. 6 for one analysis image: the image, the stand-in saliency map, its 0.7-mass mask, and
// each model's reconstructions with their ϱ̄.
func Fig6FromAnalysis(a *analysis.Result, image int) (Figure, error) {
	if image < 0 || image >= len(a.Photos) {
		return Figure{}, fmt.Errorf("fig 6: image %d of %d", image, len(a.Photos))
	}
	m := saliency.Map{H: a.Size, W: a.Size, Density: a.Densities[image]}
	var rows []ReconstructionRow
	var ratios [][]float64
	for mi, name := range a.Models {
		rows = append(rows, ReconstructionRow{Label: name, Images: a.Recons[mi][image]})
		ratios = append(ratios, a.Ratio[mi][image])
	}
	rows = append(rows, ReconstructionRow{Label: "spectral control", Images: a.SpectralImgs[image]})
	ratios = append(ratios, a.Spectral[image])
	return Fig6(fmt.Sprintf("Saliency (stand-in model) and reconstructions, image %d", image),
		a.Targets[image], a.Densities[image], m.Mask(saliency.MaskFraction), a.Size, rows, ratios, a.Norms)
}

// Fig7FromAnalysis is Fig. 7: ϱ̄ of MTL-Monkey against Oracle, Baseline and the spectral control, one panel per norm
// constraint: the paper's 5, 15 and 60 (mapped to the input size) when all nine norms are there, else the smallest,
// a middle and the largest norm.
func Fig7FromAnalysis(a *analysis.Result) (Figure, error) {
	monkey := -1
	for i, m := range a.Models {
		if m == condition.MTLMonkey {
			monkey = i
		}
	}
	if monkey < 0 {
		return Figure{}, fmt.Errorf("fig 7: no MTL-Monkey reconstructions in the analysis")
	}
	pick := []int{0, len(a.Norms) / 2, len(a.Norms) - 1}
	if len(a.Norms) == 9 {
		pick = []int{0, 2, 6} // 5, 15, 60 of the paper's nine
	}
	if len(a.Norms) < 3 {
		pick = pick[:0]
		for j := range a.Norms {
			pick = append(pick, j)
		}
	}
	var norms []float64
	var panels [][]ScatterSeries
	for _, j := range pick {
		norms = append(norms, a.Norms[j])
		column := func(m int) []float64 {
			var v []float64
			for i := range a.Photos {
				v = append(v, a.Ratio[m][i][j])
			}
			return v
		}
		y := column(monkey)
		var panel []ScatterSeries
		for mi, name := range a.Models {
			if name == condition.Oracle || name == condition.Baseline {
				panel = append(panel, ScatterSeries{Label: name, X: column(mi), Y: y})
			}
		}
		var spec []float64
		for i := range a.Photos {
			spec = append(spec, a.Spectral[i][j])
		}
		panel = append(panel, ScatterSeries{Label: "spectral control", X: spec, Y: y})
		panels = append(panels, panel)
	}
	return Fig7("Fig. 7", norms, panels)
}

// RatioTable summarises ϱ̄ (mean over images) per model and norm, with the spectral control.
func RatioTable(a *analysis.Result) Table {
	t := Table{Caption: fmt.Sprintf("Mean normalised norm ratio ϱ̄ over %d images (saliency: %s)", len(a.Photos), a.Saliency)}
	t.Header = append(t.Header, "model")
	for _, n := range a.Norms {
		t.Header = append(t.Header, fmt.Sprintf("norm %g", n))
	}
	mean := func(f func(i int) float64) string {
		var s float64
		n := 0
		for i := range a.Photos {
			if v := f(i); v == v {
				s += v
				n++
			}
		}
		if n == 0 {
			return "—"
		}
		return fmt.Sprintf("%.3f", s/float64(n))
	}
	for mi, name := range a.Models {
		row := []string{name}
		for j := range a.Norms {
			row = append(row, mean(func(i int) float64 { return a.Ratio[mi][i][j] }))
		}
		t.Rows = append(t.Rows, row)
	}
	row := []string{"spectral control (of MTL-Monkey)"}
	for j := range a.Norms {
		row = append(row, mean(func(i int) float64 { return a.Spectral[i][j] }))
	}
	t.Rows = append(t.Rows, row)
	return t
}

// ConvergenceTable says how far each model's reconstructions got: the median over images of the final loss divided
// by the loss at the (projected) random start, per model and norm, with the steps taken and the optimiser.
func ConvergenceTable(a *analysis.Result) Table {
	t := Table{Caption: fmt.Sprintf("Reconstruction loss ‖f(x) − f(x₀)‖² at the end over at the start (median over %d "+
		"images), %d steps", len(a.Photos), a.Steps)}
	t.Header = append(t.Header, "model", "optimiser")
	for _, n := range a.Norms {
		t.Header = append(t.Header, fmt.Sprintf("norm %g", n))
	}
	for m, name := range a.Models {
		row := []string{name, a.Optimizers[m]}
		for j := range a.Norms {
			var ratios []float64
			for i := range a.Photos {
				if a.Initial[m][i][j] > 0 {
					ratios = append(ratios, a.Loss[m][i][j]/a.Initial[m][i][j])
				}
			}
			if len(ratios) == 0 {
				row = append(row, "—")
				continue
			}
			sort.Float64s(ratios)
			row = append(row, fmt.Sprintf("%.3f", stat.Quantile(0.5, stat.Empirical, ratios, nil)))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
