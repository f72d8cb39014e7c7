package figures

import (
	"fmt"
	"math"
	"sort"

	"image"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/saliency"
	"gonum.org/v1/gonum/stat"
)

// Fig5 is the paper's Fig. 5: the reconstructions from conv3_1 of four noisy images (the analysis's first four) by
// every model and the spectral control of MTL-Monkey's, under the paper's norms 5, 15 and 60 (mapped to the input
// size), with the noisy images in the last row ("see last row for original images"); each image is stretched to its
// own symmetric grey range.
func Fig5(a *analysis.Result) (Figure, error) {
	images := min(4, len(a.Photos))
	if images == 0 {
		return Figure{}, fmt.Errorf("fig 5: no images")
	}
	norms := paperNormIndices(a.Norms, a.Size)
	g := gridSpec{title: fmt.Sprintf("Fig. 5 — reconstructions from conv3_1 of %d noisy images (%d steps)", images, a.Steps),
		cellCm: 1.9}
	for i := range images {
		for k, j := range norms {
			label := fmt.Sprintf("norm %g", a.Norms[j])
			if k == 0 {
				label = fmt.Sprintf("image %d: %g", i+1, a.Norms[j])
			}
			g.colLabels = append(g.colLabels, label)
		}
	}
	addRow := func(label string, img func(i, j int) []float64) {
		var row []image.Image
		for i := range images {
			for _, j := range norms {
				x := img(i, j)
				if x == nil {
					row = append(row, nil)
					continue
				}
				m := symmetricRange(x)
				row = append(row, greyImage(x, a.Size, a.Size, -m, m))
			}
		}
		g.cells, g.rowLabels = append(g.cells, row), append(g.rowLabels, label)
	}
	for m, name := range a.Models {
		addRow(condition.Label(name), func(i, j int) []float64 { return a.Recons[m][i][j] })
	}
	addRow("spectral control", func(i, j int) []float64 { return a.SpectralImgs[i][j] })
	addRow("original (noisy)", func(i, j int) []float64 {
		if j != norms[0] {
			return nil
		}
		return a.Targets[i]
	})
	return g.figure()
}

// Fig10 is the paper's Fig. 10 for one analysis image: the noisy target, and each model's reconstruction under every
// norm constraint of the analysis, with the spectral control of MTL-Monkey's.
func Fig10(a *analysis.Result, image int) (Figure, error) {
	if image < 0 || image >= len(a.Photos) {
		return Figure{}, fmt.Errorf("fig 10: image %d of %d", image, len(a.Photos))
	}
	var rows []ReconstructionRow
	for m, name := range a.Models {
		rows = append(rows, ReconstructionRow{Label: name, Images: a.Recons[m][image]})
	}
	rows = append(rows, ReconstructionRow{Label: "spectral control", Images: a.SpectralImgs[image]})
	return ReconstructionGrid(fmt.Sprintf("Fig. 10 — conv3_1 reconstructions of image %d under every norm (%d steps)",
		image, a.Steps), a.Targets[image], a.Size, a.Norms, rows)
}

// Fig6FromAnalysis is Fig. 6 for one analysis image: the undistorted image, the stand-in saliency map, its 0.7-mass
// mask, and the reconstructions of the undistorted image by the models compared on saliency, with their ϱ̄.
func Fig6FromAnalysis(a *analysis.Result, image int) (Figure, error) {
	if image < 0 || image >= len(a.Photos) {
		return Figure{}, fmt.Errorf("fig 6: image %d of %d", image, len(a.Photos))
	}
	if len(a.SaliencyModels) == 0 {
		return Figure{}, fmt.Errorf("fig 6: the analysis reconstructs no undistorted images")
	}
	m := saliency.Map{H: a.Size, W: a.Size, Density: a.Densities[image]}
	var rows []ReconstructionRow
	var ratios [][]float64
	for si, name := range a.SaliencyModels {
		rows = append(rows, ReconstructionRow{Label: name, Images: a.SaliencyRecons[si][image]})
		ratios = append(ratios, a.Ratio[si][image])
	}
	if len(a.SaliencySpectralImgs) > image {
		rows = append(rows, ReconstructionRow{Label: "spectral control", Images: a.SaliencySpectralImgs[image]})
		ratios = append(ratios, a.Spectral[image])
	}
	return Fig6(fmt.Sprintf("Saliency (stand-in model) and reconstructions of the undistorted image %d", image),
		a.Clean[image], a.Densities[image], m.Mask(saliency.MaskFraction), a.Size, rows, ratios, a.Norms)
}

// paperNormIndices are the positions in norms of the paper's norms 5, 15 and 60 mapped to the input size (found by
// value, recon.NormFor), or, where the analysis has not all three, its smallest, a middle and its largest norm.
func paperNormIndices(norms []float64, size int) []int {
	var out []int
	for _, pn := range []float64{5, 15, 60} {
		for j, n := range norms {
			if math.Abs(n-recon.NormFor(pn, size)) < 1e-9 {
				out = append(out, j)
			}
		}
	}
	if len(out) == 3 {
		return out
	}
	if len(norms) < 3 {
		out = out[:0]
		for j := range norms {
			out = append(out, j)
		}
		return out
	}
	return []int{0, len(norms) / 2, len(norms) - 1}
}

// Fig7FromAnalysis is Fig. 7: ϱ̄ of MTL-Monkey against the Oracle, the Baseline and the spectral control, one panel
// per norm constraint: the paper's 5, 15 and 60 (mapped to the input size).
func Fig7FromAnalysis(a *analysis.Result) (Figure, error) {
	monkey := a.SaliencyIndex(condition.MTLMonkey)
	if monkey < 0 {
		return Figure{}, fmt.Errorf("fig 7: no MTL-Monkey reconstructions of the undistorted images in the analysis")
	}
	var norms []float64
	var panels [][]ScatterSeries
	for _, j := range paperNormIndices(a.Norms, a.Size) {
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
		for si, name := range a.SaliencyModels {
			if si != monkey {
				panel = append(panel, ScatterSeries{Label: name, X: column(si), Y: y})
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
	t := Table{Caption: fmt.Sprintf("Mean normalised norm ratio ϱ̄ of the reconstructions of %d undistorted images "+
		"(saliency: %s)", len(a.Photos), a.Saliency)}
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
	for si, name := range a.SaliencyModels {
		row := []string{name}
		for j := range a.Norms {
			row = append(row, mean(func(i int) float64 { return a.Ratio[si][i][j] }))
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
