package figures

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// ReceptiveFields shows the even Gabor receptive fields of the first n neurons over the model's input image
// (grey = 0, light = excitatory, dark = inhibitory), captioned with cell type and preferred spatial frequency.
func ReceptiveFields(neurons []v1sim.Neuron, pop v1sim.PopulationConfig, size int, ppd float64, n, cols int) (Figure, error) {
	if len(neurons) == 0 {
		return Figure{}, fmt.Errorf("receptive fields: no neurons")
	}
	g := gridSpec{title: fmt.Sprintf("SIMULATED V1: receptive fields over the %d×%d input (%.1f°)", size, size, float64(size)/ppd), cellCm: 2.2}
	var row []image.Image
	var caps []string
	for i, nr := range neurons[:min(n, len(neurons))] {
		k := v1sim.Kernel(nr, pop, size, ppd)
		img := image.NewGray(image.Rect(0, 0, size, size))
		for p, v := range k {
			img.Pix[p] = uint8(math.Round(127.5 + 127.5*v))
		}
		kind := "complex"
		if nr.Simple {
			kind = "simple"
		}
		row = append(row, img)
		caps = append(caps, fmt.Sprintf("%s, %.1f c/°", kind, nr.SF))
		if len(row) == cols || i == min(n, len(neurons))-1 {
			g.cells, g.captions = append(g.cells, row), append(g.captions, caps)
			row, caps = nil, nil
		}
	}
	return g.figure()
}

// TuningCurves shows orientation tuning (relative to each neuron's preference) and spatial-frequency tuning to
// full-field gratings for a few neurons: expected spike counts in the response window.
func TuningCurves(neurons []v1sim.Neuron, pop v1sim.PopulationConfig, size int, ppd, windowS, contrast float64) (Figure, error) {
	oriPlot, sfPlot := newPlot(), newPlot()
	oriPlot.Title.Text = fmt.Sprintf("SIMULATED V1: orientation (contrast %.0f %%)", 100*contrast)
	oriPlot.X.Label.Text = "orientation relative to preferred (°)"
	oriPlot.Y.Label.Text = "expected spike count (40–160 ms)"
	sfPlot.Title.Text = "SIMULATED V1: spatial frequency"
	sfPlot.X.Label.Text = "spatial frequency (cycles/°)"
	sfPlot.X.Scale = plot.LogScale{}
	sfPlot.X.Tick.Marker = plot.ConstantTicks{{Value: 0.5, Label: "0.5"}, {Value: 1, Label: "1"}, {Value: 2, Label: "2"},
		{Value: 4, Label: "4"}}
	sfPlot.Y.Label.Text = "expected spike count (40–160 ms)"
	var rel []float64
	for d := -90.0; d <= 90; d += 7.5 {
		rel = append(rel, d)
	}
	sfs := []float64{0.5, 0.7, 1, 1.4, 2, 2.8, 4, 5.6}
	legend := plot.NewLegend()
	for i, n := range neurons {
		n.CenterX, n.CenterY = 0, 0 // gratings are full-field; centre the RF so the window does not clip it
		oris := make([]float64, len(rel))
		for k, d := range rel {
			oris[k] = n.Orientation + d*math.Pi/180
		}
		oc, sc := v1sim.Tuning(n, pop, size, ppd, windowS, contrast, oris, sfs)
		col := palette[i%len(palette)]
		if err := addLine(oriPlot, rel, oc, col, ""); err != nil {
			return Figure{}, err
		}
		if err := addLine(sfPlot, sfs, sc, col, ""); err != nil {
			return Figure{}, err
		}
		l, _ := plotter.NewLine(plotter.XYs{{}})
		l.Color, l.Width = col, vg.Points(1.5)
		legend.Add(fmt.Sprintf("neuron %d (%s)", n.ID, cellType(n)), l)
	}
	return Figure{Tiles: [][]*plot.Plot{{oriPlot, sfPlot}}, Legend: &legend, Width: 28 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

func cellType(n v1sim.Neuron) string {
	if n.Simple {
		return "simple"
	}
	return "complex"
}

var palette = []color.Color{
	color.RGBA{0x4c, 0x72, 0xb0, 0xff}, color.RGBA{0xdd, 0x84, 0x52, 0xff}, color.RGBA{0x55, 0xa8, 0x68, 0xff},
	color.RGBA{0xc4, 0x4e, 0x52, 0xff}, color.RGBA{0x81, 0x72, 0xb3, 0xff}, color.RGBA{0x93, 0x78, 0x60, 0xff},
}

func addLine(p *plot.Plot, xs, ys []float64, c color.Color, label string) error {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	p.Add(l)
	if label != "" {
		p.Legend.Add(label, l)
	}
	return nil
}

// NeuralStatistics shows the distributions of mean spike counts and Fano factors, and the fraction of explainable
// variance estimated from the repeats against the simulator's ground truth (when the data are simulated). scale,
// if not empty, names the scale in the titles.
func NeuralStatistics(stats []neural.NeuronStats, simulated bool, scale string) (Figure, error) {
	label := "recorded"
	if simulated {
		label = "SIMULATED"
	}
	if scale != "" {
		label += " (" + scale + ")"
	}
	var counts, fanos, fev plotter.Values
	var scatter plotter.XYs
	for _, s := range stats {
		if !math.IsNaN(s.MeanCount) {
			counts = append(counts, s.MeanCount)
		}
		if !math.IsNaN(s.Fano) {
			fanos = append(fanos, s.Fano)
		}
		if !math.IsNaN(s.FEV) {
			fev = append(fev, s.FEV)
		}
		if s.TrueFEV != nil && !math.IsNaN(s.FEV) {
			scatter = append(scatter, plotter.XY{X: *s.TrueFEV, Y: s.FEV})
		}
	}
	hist := func(title, x string, v plotter.Values) (*plot.Plot, error) {
		p := newPlot()
		p.Title.Text = label + " V1: " + title
		p.X.Label.Text = x
		p.Y.Label.Text = "neurons"
		h, err := plotter.NewHist(v, 25)
		if err != nil {
			return nil, err
		}
		h.FillColor = colorShared
		p.Add(h)
		return p, nil
	}
	pc, err := hist("mean spike counts", "mean count in 40–160 ms", counts)
	if err != nil {
		return Figure{}, err
	}
	pf, err := hist("Fano factors", "variance / mean across repeats", fanos)
	if err != nil {
		return Figure{}, err
	}
	var third *plot.Plot
	if len(scatter) > 0 {
		third = newPlot()
		third.Title.Text = label + " V1: FEV from repeats vs truth"
		third.X.Label.Text = "true explainable variance (simulator)"
		third.Y.Label.Text = "FEV estimated from the test repeats"
		s, err := plotter.NewScatter(scatter)
		if err != nil {
			return Figure{}, err
		}
		s.Color = colorShared
		third.Add(s)
		diag, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		diag.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		third.Add(diag)
		third.X.Min, third.X.Max, third.Y.Min, third.Y.Max = -0.1, 1, -0.1, 1
	} else {
		if third, err = hist("fraction of explainable variance", "FEV", fev); err != nil {
			return Figure{}, err
		}
	}
	return Figure{Tiles: [][]*plot.Plot{{pc, pf, third}}, Width: 36 * vg.Centimeter, Height: 11 * vg.Centimeter}, nil
}

// TestRaster shows one neuron's spike counts on every repeat (rows) of every test image (columns) in a session:
// repeated presentations of the same image vary (trial-to-trial noise) around an image-specific mean (signal).
func TestRaster(d *neural.Dataset, session, neuron int) (Figure, error) {
	if session >= len(d.Sessions) || neuron >= len(d.Sessions[session].Neurons) {
		return Figure{}, fmt.Errorf("raster: no neuron %d in session %d", neuron, session)
	}
	s := d.Sessions[session]
	_, trials := s.Repeats()
	reps := 0
	for _, t := range trials {
		reps = max(reps, len(t))
	}
	n := len(s.Neurons)
	var maxCount float64
	for t := range len(s.TestImageIDs) {
		if v := float64(s.TestResponses[t*n+neuron]); !math.IsNaN(v) {
			maxCount = math.Max(maxCount, v)
		}
	}
	// Each count is a block of cell×cell pixels, so that the plot's image scaling does not blur the raster.
	const cell = 8
	img := image.NewGray(image.Rect(0, 0, len(trials)*cell, reps*cell))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for c, ts := range trials {
		for r, t := range ts {
			v := float64(s.TestResponses[t*n+neuron])
			if math.IsNaN(v) {
				continue
			}
			g := color.Gray{Y: uint8(255 - math.Round(255*v/math.Max(maxCount, 1)))}
			for y := range cell {
				for x := range cell {
					img.SetGray(c*cell+x, (reps-1-r)*cell+y, g)
				}
			}
		}
	}
	p := newPlot()
	label := "recorded"
	if d.Meta.Simulated {
		label = "SIMULATED"
	}
	p.Title.Text = fmt.Sprintf("%s V1, %s neuron %d: spike counts on every repeat of every test image (black = %.0f spikes)",
		label, s.ID, s.Neurons[neuron], maxCount)
	p.X.Label.Text = "test image"
	p.Y.Label.Text = "repeat"
	p.Add(plotter.NewImage(img, 0, 0, float64(len(trials)), float64(reps)))
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, float64(len(trials)), 0, float64(reps)
	return Figure{Plot: p, Width: 24 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}
