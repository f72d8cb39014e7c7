package figures

import (
	"fmt"
	"github.com/robustvision/cotrain/pkg/condition"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	plotpalette "gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/recon"
)

// lossGrid evaluates the toy loss on a grid for contour lines.
type lossGrid struct {
	q          recon.Quadratic2D
	xs, ys     []float64
	rows, cols int
}

func (g lossGrid) Dims() (int, int)   { return g.cols, g.rows }
func (g lossGrid) X(c int) float64    { return g.xs[c] }
func (g lossGrid) Y(r int) float64    { return g.ys[r] }
func (g lossGrid) Z(c, r int) float64 { return g.q.Loss([2]float64{g.xs[c], g.ys[r]}) }

// Fig4 computes the paper's Fig. 4 (the intuition behind constrained reconstructions) on the toy quadratic: contour
// lines of the loss, the constraint circles for the given radii with their optima (H + γI)⁻¹Hx₀, the path of the
// optimum as the budget grows, and H's eigen-directions scaled by their curvature.
func Fig4(q recon.Quadratic2D, radii []float64) (Figure, error) {
	p := newPlot()
	p.Title.Text = "Fig. 4: norm-constrained optima of a quadratic loss"
	p.X.Label.Text, p.Y.Label.Text = "x₁", "x₂"
	const n = 80
	g := lossGrid{q: q, rows: n, cols: n}
	for i := range n {
		g.xs = append(g.xs, -2+5*float64(i)/(n-1))
		g.ys = append(g.ys, -1+5*float64(i)/(n-1))
	}
	levels := []float64{0.25, 1, 2.5, 5, 10, 20}
	c := plotter.NewContour(g, levels, plotpalette.Heat(len(levels), 1))
	p.Add(c)
	for i, r := range radii {
		var circle plotter.XYs
		for a := 0.0; a <= 2*math.Pi+1e-9; a += math.Pi / 90 {
			circle = append(circle, plotter.XY{X: r * math.Cos(a), Y: r * math.Sin(a)})
		}
		l, err := plotter.NewLine(circle)
		if err != nil {
			return Figure{}, err
		}
		l.Color, l.Dashes = color.Gray{Y: 0x70}, []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(l)
		x, gamma, err := q.Optimum(r)
		if err != nil {
			return Figure{}, err
		}
		s, err := plotter.NewScatter(plotter.XYs{{X: x[0], Y: x[1]}})
		if err != nil {
			return Figure{}, err
		}
		s.Shape, s.Color, s.Radius = draw.CircleGlyph{}, plotutilColor(i), vg.Points(4)
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("r = %.1f (γ = %.2f)", r, gamma), s)
	}
	var path plotter.XYs
	for _, x := range q.Path(60) {
		path = append(path, plotter.XY{X: x[0], Y: x[1]})
	}
	pl, err := plotter.NewLine(path)
	if err != nil {
		return Figure{}, err
	}
	pl.Color, pl.Width = color.RGBA{0x4c, 0x72, 0xb0, 0xff}, vg.Points(1.5)
	p.Add(pl)
	p.Legend.Add("optimum as r grows", pl)
	vals, vecs, err := q.Eigen()
	if err != nil {
		return Figure{}, err
	}
	for i := range 2 {
		scale := 0.5 + float64(i) // the stiff direction drawn longer
		if vecs[i][0]*q.X0[0]+vecs[i][1]*q.X0[1] < 0 {
			scale = -scale // point into x₀'s half-plane
		}
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: scale * vecs[i][0], Y: scale * vecs[i][1]}})
		if err != nil {
			return Figure{}, err
		}
		l.Color, l.Width = color.Black, vg.Points(2)
		p.Add(l)
		lab, _ := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: scale * vecs[i][0], Y: scale * vecs[i][1]}},
			Labels: []string{fmt.Sprintf(" curvature %.0f", vals[i])}})
		p.Add(lab)
	}
	x0, _ := plotter.NewScatter(plotter.XYs{{X: q.X0[0], Y: q.X0[1]}})
	x0.Shape, x0.Color = draw.CrossGlyph{}, color.Black
	p.Add(x0)
	p.Legend.Add("x₀ (unconstrained optimum)", x0)
	p.Legend.Top, p.Legend.Left = true, true
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -2, 3, -1, 4
	return Figure{Plot: p, Width: 21 * vg.Centimeter, Height: 15 * vg.Centimeter}, nil
}

func plotutilColor(i int) color.Color {
	cs := []color.Color{color.RGBA{0xc4, 0x4e, 0x52, 0xff}, color.RGBA{0xdd, 0x84, 0x52, 0xff},
		color.RGBA{0x55, 0xa8, 0x68, 0xff}, color.RGBA{0x81, 0x72, 0xb3, 0xff}}
	return cs[i%len(cs)]
}

// greyImage renders values (model input units) as a grey image over [lo, hi] (the authors show reconstructions with
// vmin −1, vmax 1 in input units; a symmetric range about 0 keeps that convention).
func greyImage(v []float64, h, w int, lo, hi float64) image.Image {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, x := range v {
		img.Pix[i] = uint8(math.Round(255 * math.Min(math.Max((x-lo)/(hi-lo), 0), 1)))
	}
	return img
}

func symmetricRange(vs ...[]float64) float64 {
	var m float64
	for _, v := range vs {
		for _, x := range v {
			m = math.Max(m, math.Abs(x))
		}
	}
	if m == 0 {
		return 1
	}
	return m
}

// ReconstructionRow is one row of a reconstruction grid: a label (the model, or "spectral control") and one image
// per norm constraint.
type ReconstructionRow struct {
	Label  string
	Images [][]float64
}

// ReconstructionGrid is Fig. 5, 10 and 11: the target image (with its noise) on the left, then one row per model of
// its reconstructions from conv3_1 under each norm constraint, each image scaled to its own symmetric grey range.
func ReconstructionGrid(title string, target []float64, size int, norms []float64, rows []ReconstructionRow) (Figure, error) {
	g := gridSpec{title: title, cellCm: 2.4}
	g.colLabels = append(g.colLabels, "target")
	for _, n := range norms {
		g.colLabels = append(g.colLabels, fmt.Sprintf("norm %g", n))
	}
	for i, r := range rows {
		if len(r.Images) != len(norms) {
			return Figure{}, fmt.Errorf("reconstruction grid: row %s has %d images for %d norms", r.Label, len(r.Images), len(norms))
		}
		row := []image.Image{nil}
		if i == 0 {
			m := symmetricRange(target)
			row[0] = greyImage(target, size, size, -m, m)
		}
		for _, img := range r.Images {
			m := symmetricRange(img)
			row = append(row, greyImage(img, size, size, -m, m))
		}
		g.cells = append(g.cells, row)
		g.rowLabels = append(g.rowLabels, r.Label)
	}
	return g.figure()
}

// fig7Colour is a series' colour in Fig. 7 as the paper's caption gives them: the Oracle blue, the Baseline black, the
// spectral control red.
func fig7Colour(label string, k int) color.Color {
	switch label {
	case condition.Oracle:
		return color.RGBA{0x1f, 0x5f, 0xbf, 0xff}
	case condition.Baseline:
		return color.Black
	case "spectral control":
		return color.RGBA{0xd6, 0x27, 0x28, 0xff}
	}
	return modelColor(label, k+3)
}

// Fig6 shows the saliency analysis for one image: the image, its saliency map (the stand-in model unless a map was
// supplied), the 0.7-mass mask, and each model's reconstruction with its normalised norm ratio ϱ̄.
func Fig6(title string, img, density []float64, mask []bool, size int, recons []ReconstructionRow, ratios [][]float64, norms []float64) (Figure, error) {
	g := gridSpec{title: title, cellCm: 2.4}
	m := symmetricRange(img)
	maxD := 0.0
	for _, d := range density {
		maxD = math.Max(maxD, d)
	}
	maskImg := make([]float64, len(mask))
	for i, in := range mask {
		if in {
			maskImg[i] = 1
		}
	}
	g.cells = append(g.cells, []image.Image{greyImage(img, size, size, -m, m), greyImage(density, size, size, 0, maxD),
		greyImage(maskImg, size, size, 0, 1)})
	g.captions = append(g.captions, []string{"image", "saliency", "mask (0.7 mass)"})
	g.rowLabels = append(g.rowLabels, "")
	for i, r := range recons {
		var row []image.Image
		var caps []string
		for j, im := range r.Images {
			mm := symmetricRange(im)
			row = append(row, greyImage(im, size, size, -mm, mm))
			caps = append(caps, fmt.Sprintf("norm %g: ratio %.2f", norms[j], ratios[i][j]))
		}
		g.cells = append(g.cells, row)
		g.captions = append(g.captions, caps)
		g.rowLabels = append(g.rowLabels, r.Label)
	}
	return g.figure()
}

// ScatterSeries is one comparison of Fig. 7: ϱ̄ of MTL-Monkey (y) against another model's (x), image by image.
type ScatterSeries struct {
	Label string
	X, Y  []float64
}

// Fig7 draws, per norm constraint, ϱ̄ of MTL-Monkey's reconstructions against those of Oracle, Baseline and the
// spectral control: points above the diagonal are images whose salient region MTL-Monkey's reconstruction favours
// more.
func Fig7(title string, norms []float64, series [][]ScatterSeries) (Figure, error) {
	if len(norms) == 0 || len(series) != len(norms) {
		return Figure{}, fmt.Errorf("fig 7: %d norms, %d panels", len(norms), len(series))
	}
	var row []*plot.Plot
	legend := plot.NewLegend()
	for i, n := range norms {
		p := newPlot()
		p.Title.Text = fmt.Sprintf("%s, norm %g", title, n)
		p.X.Label.Text, p.Y.Label.Text = "normalised norm ratio (other model)", "normalised norm ratio (MTL-Monkey)"
		lo, hi := math.Inf(1), math.Inf(-1)
		for k, s := range series[i] {
			var pts plotter.XYs
			for j := range s.X {
				if math.IsNaN(s.X[j]) || math.IsNaN(s.Y[j]) {
					continue
				}
				pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
				lo, hi = math.Min(lo, math.Min(s.X[j], s.Y[j])), math.Max(hi, math.Max(s.X[j], s.Y[j]))
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return Figure{}, err
			}
			sc.Color = fig7Colour(s.Label, k)
			sc.Shape = draw.CircleGlyph{}
			p.Add(sc)
			if i == 0 {
				legend.Add("x: "+s.Label, sc)
			}
		}
		if math.IsInf(lo, 0) {
			lo, hi = 0, 1
		}
		d, _ := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
		d.Color, d.Dashes = color.Gray{Y: 0x80}, []vg.Length{vg.Points(3), vg.Points(2)}
		p.Add(d)
		if i == 0 {
			legend.Add("diagonal (equal ratios)", d)
		}
		row = append(row, p)
	}
	return Figure{Tiles: [][]*plot.Plot{row}, Legend: &legend, Width: vg.Length(len(norms))*9*vg.Centimeter + 5*vg.Centimeter,
		Height: 9 * vg.Centimeter}, nil
}
