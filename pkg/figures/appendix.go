package figures

import (
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/results"
)

// Fig12 is the appendix's resolution search (Fig. 12): for each resolution of the stimuli as the predictor saw them,
// the predictor's FEVe on the reliable neurons (left) and the test accuracy of a classifier trained on its frozen
// block (right). The dashed line marks the recording's own resolution, where the search's predictor is the Monkey
// Predictor. scale names the scale in the titles.
func Fig12(points []results.ResolutionPoint, recorded float64, scale string) (Figure, error) {
	if len(points) < 2 {
		return Figure{}, fmt.Errorf("fig. 12: %d resolutions, want at least 2", len(points))
	}
	var feve, acc plotter.XYs
	var ticks plot.ConstantTicks
	for _, p := range points {
		feve = append(feve, plotter.XY{X: p.PPD, Y: p.FEVe})
		acc = append(acc, plotter.XY{X: p.PPD, Y: 100 * p.Accuracy})
		ticks = append(ticks, plot.Tick{Value: p.PPD, Label: strconv.FormatFloat(p.PPD, 'f', -1, 64)})
	}
	legend := plot.NewLegend()
	panel := func(title, ylabel string, xys plotter.XYs, c color.Color) (*plot.Plot, error) {
		p := newPlot()
		p.Title.Text = title
		p.X.Label.Text = "stimulus resolution (pixels per degree)"
		p.Y.Label.Text = ylabel
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, ticks
		p.X.Min, p.X.Max = points[0].PPD/1.15, points[len(points)-1].PPD*1.15
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		line.Color, line.Width = c, vg.Points(1.5)
		pts.Color, pts.Shape, pts.Radius = c, draw.CircleGlyph{}, vg.Points(3.5)
		lo, hi := minMaxY(xys)
		pad := 0.15*(hi-lo) + 1e-3*max(1, hi)
		p.Y.Min, p.Y.Max = lo-pad, hi+pad
		mark, err := plotter.NewLine(plotter.XYs{{X: recorded, Y: p.Y.Min}, {X: recorded, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		mark.Color, mark.Dashes = colorPool, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(mark, line, pts)
		legend.Add(title, line, pts)
		return p, nil
	}
	left, err := panel("predictor's FEVe", "FEVe (reliable neurons, SIMULATED V1)", feve, colorReadout)
	if err != nil {
		return Figure{}, err
	}
	right, err := panel("classifier on its frozen block", "Fashion-MNIST test accuracy (%)", acc, colorClassification)
	if err != nil {
		return Figure{}, err
	}
	left.Title.Text = fmt.Sprintf("Fig. 12 — resolution search (%s scale): predictor", scale)
	right.Title.Text = "classifier on the predictor's frozen block"
	mark, _ := plotter.NewLine(plotter.XYs{{}})
	mark.Color, mark.Dashes = colorPool, []vg.Length{vg.Points(4), vg.Points(3)}
	legend.Add(fmt.Sprintf("recorded: %v ppd (Monkey Predictor)", recorded), mark)
	return Figure{Tiles: [][]*plot.Plot{{left, right}}, Legend: &legend, Width: 32 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// minMaxY is the range of the points' Y values.
func minMaxY(xys plotter.XYs) (lo, hi float64) {
	lo, hi = xys[0].Y, xys[0].Y
	for _, p := range xys {
		lo, hi = min(lo, p.Y), max(hi, p.Y)
	}
	return lo, hi
}
