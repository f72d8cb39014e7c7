package figures

import (
	"fmt"
	"html"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/train"
)

// Curve is one training run's per-epoch metrics (metrics.csv) with its label.
type Curve struct {
	Label   string
	Metrics []train.EpochMetrics
}

// spectralColour is the colour of the spectral control, which is not a condition.
var spectralColour = color.RGBA{0x2a, 0x9d, 0x8f, 0xff}

// modelColor is a condition's colour in every figure (the condition table's), for a label that starts with its name;
// the spectral control's; else the i-th of a palette.
func modelColor(label string, i int) color.Color {
	if c, ok := condition.Colour(label); ok {
		return c
	}
	if strings.HasPrefix(label, "spectral control") {
		return spectralColour
	}
	return plotutil.Color(i)
}

// TrainingCurves draws, per model, the monitored validation metric and the training loss per epoch; filled markers
// are epochs that improved on the best so far (the weights kept), and a vertical tick marks a restore of the best
// weights with a learning-rate reduction (the authors' reduce-on-plateau).
func TrainingCurves(title string, curves []Curve) (Figure, error) {
	if len(curves) == 0 {
		return Figure{}, fmt.Errorf("training curves: no runs")
	}
	val, loss := newPlot(), newPlot()
	val.Title.Text = title + ": validation"
	val.X.Label.Text, val.Y.Label.Text = "epoch", "validation accuracy (predictor: correlation)"
	loss.Title.Text = title + ": training loss"
	loss.X.Label.Text, loss.Y.Label.Text = "epoch", "objective (mean over steps)"
	for i, c := range curves {
		if len(c.Metrics) == 0 {
			return Figure{}, fmt.Errorf("training curves: %s has no epochs", c.Label)
		}
		col := modelColor(c.Label, i)
		vp, lp := make(plotter.XYs, len(c.Metrics)), make(plotter.XYs, len(c.Metrics))
		var best plotter.XYs
		for k, m := range c.Metrics {
			vp[k] = plotter.XY{X: float64(m.Epoch), Y: m.Val}
			lp[k] = plotter.XY{X: float64(m.Epoch), Y: m.Loss}
			if m.Improved {
				best = append(best, vp[k])
			}
		}
		for _, pair := range []struct {
			p   *plot.Plot
			pts plotter.XYs
		}{{val, vp}, {loss, lp}} {
			l, err := plotter.NewLine(pair.pts)
			if err != nil {
				return Figure{}, err
			}
			l.Color, l.Width = col, vg.Points(1.5)
			pair.p.Add(l)
		}
		if len(best) > 0 {
			s, err := plotter.NewScatter(best)
			if err != nil {
				return Figure{}, err
			}
			s.Color = col
			s.Shape = draw.CircleGlyph{}
			val.Add(s)
		}
	}
	legend := plot.NewLegend()
	for i, c := range curves {
		l, _ := plotter.NewLine(plotter.XYs{{}})
		l.Color, l.Width = modelColor(c.Label, i), vg.Points(2)
		legend.Add(c.Label, l)
	}
	kept := &plotter.Scatter{GlyphStyle: draw.GlyphStyle{Color: color.Black, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}}
	legend.Add("improved: weights kept", kept)
	return Figure{Tiles: [][]*plot.Plot{{val, loss}}, Legend: &legend, Width: 30 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// Table is a small table for a notebook or a README: a caption, a header and rows.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
	Note    string // a sentence under the table ("" for none)
}

// HTML renders the table for a notebook (GoNB's DisplayHTML).
func (t Table) HTML() string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-size:90%">`)
	if t.Caption != "" {
		fmt.Fprintf(&b, `<caption style="caption-side:top;text-align:left;font-weight:bold">%s</caption>`, html.EscapeString(t.Caption))
	}
	b.WriteString("<tr>")
	for _, h := range t.Header {
		fmt.Fprintf(&b, `<th style="border-bottom:1px solid #888;padding:2px 8px;text-align:left">%s</th>`, html.EscapeString(h))
	}
	b.WriteString("</tr>")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			fmt.Fprintf(&b, `<td style="padding:2px 8px">%s</td>`, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	if t.Note != "" {
		fmt.Fprintf(&b, `<p style="font-size:90%%">%s</p>`, html.EscapeString(t.Note))
	}
	return b.String()
}

// Markdown renders the table as GitHub markdown.
func (t Table) Markdown() string {
	var b strings.Builder
	if t.Caption != "" {
		fmt.Fprintf(&b, "%s\n\n", t.Caption)
	}
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n|")
	for range t.Header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	if t.Note != "" {
		fmt.Fprintf(&b, "\n%s\n", t.Note)
	}
	return b.String()
}
