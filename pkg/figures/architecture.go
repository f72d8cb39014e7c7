package figures

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/models"
)

// archWidth is Fig. 1's width.
const archWidth = 30 * vg.Centimeter

// Architecture draws Fig. 1 of the paper from a model configuration: the VGG-19-BN classifier as a row of layers
// (box height grows with the channel count, the label gives channels and spatial size), the shared block that both
// tasks train (conv1_1 … ReLU after conv3_1), and the Gaussian readout that predicts the responses of neurons V1
// neurons from the shared block. source names where the neural data come from (e.g. "simulated V1").
func Architecture(cfg models.VGGConfig, neurons int, source string) (Figure, error) {
	if err := cfg.Validate(); err != nil {
		return Figure{}, fmt.Errorf("architecture figure: %w", err)
	}
	p := newPlot()
	p.Title.Text = fmt.Sprintf("Fig. 1 — multi-task VGG-19-BN (widths ÷%d, %d×%d input, %d classes, %s parameters)",
		cfg.WidthDivisor, cfg.InputSize, cfg.InputSize, cfg.NumClasses, thousands(cfg.ClassifierParams()))
	p.HideAxes()
	layers := cfg.Layers(neurons)
	d := &archDiagram{layers: layers, source: source, label: p.X.Label.TextStyle}
	p.Add(d)
	xmin, xmax, ymin, ymax := d.DataRange()
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xmin, xmax, ymin, ymax
	return Figure{Plot: p, Width: archWidth, Height: 14 * vg.Centimeter}, nil
}

type archDiagram struct {
	layers []models.Layer
	source string
	label  text.Style
}

func (d *archDiagram) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -1, float64(d.mainCount()) + 0.5, -10, 11.5
}

func (d *archDiagram) mainCount() int {
	n := 0
	for _, l := range d.layers {
		if l.Block != models.Readout {
			n++
		}
	}
	return n
}

func boxHeight(channels int) float64 { return 1 + 0.55*math.Log2(float64(channels)) }

func (d *archDiagram) Plot(c draw.Canvas, plt *plot.Plot) {
	tx, ty := plt.Transforms(&c)
	rect := func(x0, y0, x1, y1 float64, fill color.Color) {
		pts := []vg.Point{{X: tx(x0), Y: ty(y0)}, {X: tx(x1), Y: ty(y0)}, {X: tx(x1), Y: ty(y1)}, {X: tx(x0), Y: ty(y1)}}
		c.FillPolygon(fill, pts)
		c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}, append(pts, pts[0]))
	}
	small := d.label
	small.Font.Size = readable(archWidth, 11)
	rotated := small
	rotated.Rotation = math.Pi / 2
	rotated.XAlign, rotated.YAlign = draw.XLeft, draw.YCenter

	x := 0.0
	var sharedEnd float64
	for _, l := range d.layers {
		if l.Block == models.Readout {
			continue
		}
		fill := colorShared
		if l.Block == models.Classification {
			fill = colorClassification
		}
		w, h := 0.7, boxHeight(l.OutChannels)
		if l.Kind == "maxpool2x2" {
			w, h, fill = 0.3, 1.5, colorPool
		}
		rect(x-w/2, -h/2, x+w/2, h/2, fill)
		label := fmt.Sprintf("%s  %d×%d×%d", l.Name, l.OutChannels, l.Size, l.Size)
		if l.Kind == "maxpool2x2" {
			label = l.Name
		}
		c.FillText(rotated, vg.Point{X: tx(x), Y: ty(h/2 + 0.3)}, label)
		if l.Name == "conv3_1" {
			sharedEnd = x
		}
		x++
	}
	// Braces over the two parts.
	top := small
	top.Font.Size = readable(archWidth, 12)
	top.XAlign = draw.XCenter
	line := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
	c.StrokeLine2(line, tx(-0.4), ty(10), tx(sharedEnd+0.4), ty(10))
	c.FillText(top, vg.Point{X: tx(sharedEnd / 2), Y: ty(10.4)}, "shared block (trained by both tasks)")
	c.StrokeLine2(line, tx(sharedEnd+0.6), ty(10), tx(x-0.6), ty(10))
	c.FillText(top, vg.Point{X: tx((sharedEnd + x) / 2), Y: ty(10.4)}, "classification branch → class scores")

	for _, l := range d.layers {
		if l.Block != models.Readout {
			continue
		}
		// The readout hangs below the end of the shared block.
		arrow := draw.LineStyle{Color: colorReadout, Width: vg.Points(2)}
		c.StrokeLine2(arrow, tx(sharedEnd), ty(-boxHeight(l.InChannels)/2), tx(sharedEnd), ty(-7.2))
		rect(sharedEnd-0.5, -9.4, sharedEnd+10.5, -7.2, colorReadout)
		in := small
		in.Font.Size = readable(archWidth, 12)
		in.XAlign, in.YAlign = draw.XLeft, draw.YCenter
		in.Color = color.White
		c.FillText(in, vg.Point{X: tx(sharedEnd - 0.3), Y: ty(-7.8)},
			fmt.Sprintf("Gaussian readout: %d neurons × (μ, σ, %d weights, bias)", l.OutChannels, l.InChannels))
		c.FillText(in, vg.Point{X: tx(sharedEnd - 0.3), Y: ty(-8.8)},
			fmt.Sprintf("→ ELU(y−1)+1 = predicted responses (%s)", d.source))
	}
}

// thousands formats n with thin-space thousands separators, e.g. 39 737 352.
func thousands(n int) string {
	s := fmt.Sprint(n)
	out := ""
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(r)
	}
	return out
}
