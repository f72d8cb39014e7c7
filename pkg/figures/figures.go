// Package figures builds every figure of the paper with gonum/plot: one function per figure, shared by the notebooks
// and `cotrain figures`.
//
// The notebooks display the figures inline; `cotrain figures` writes them to figures/. Figures of this
// reproduction's own (the simulated population, training curves) live here too.
package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Figure is a finished plot, or a grid of panels (Tiles, row by row), with the size it is meant to be drawn at.
// Legends never cover data: a plot's own legend is drawn in a strip to the right of its axes, and Legend, when set,
// is the figure's one legend (for panels that share one encoding), drawn in a strip to the right of all panels.
type Figure struct {
	Plot          *plot.Plot
	Tiles         [][]*plot.Plot
	Legend        *plot.Legend
	Width, Height vg.Length
}

// DPI is the resolution at which figures are rendered (gonum/plot's default), and DisplayWidth the width in pixels
// at which a notebook shows a wider figure (Jupyter scales images down to the output area).
const (
	DPI          = 96
	DisplayWidth = 960
)

// canvasMargin is the blank border around every figure (EdgeMargin pixels and more).
const canvasMargin = 1.5 * vg.Millimeter

// layout is where a figure's parts were drawn: every plot's data area and title, and every legend.
type layout struct {
	Data, Titles, Legends []vg.Rectangle
}

// legendGap separates a legend from the axes it explains.
const legendGap = 3 * vg.Millimeter

// writerTo renders the figure in the given format ("png", "svg", "pdf").
func (f Figure) writerTo(format string) (io.WriterTo, error) {
	c, err := draw.NewFormattedCanvas(f.Width, f.Height, format)
	if err != nil {
		return nil, err
	}
	f.draw(draw.New(c), true)
	return c, nil
}

// draw draws the figure on dc (legends only if legends is true, their space reserved either way) and reports
// where its parts went.
func (f Figure) draw(dc draw.Canvas, legends bool) layout {
	var out layout
	dc = draw.Crop(dc, canvasMargin, -canvasMargin, canvasMargin, -canvasMargin) // nothing reaches the canvas's edge
	if f.Legend != nil {
		leg := *f.Legend
		spaceEntries(&leg, f.Width)
		if w, _ := legendSize(&leg); w > 0 {
			full := dc
			dc = draw.Crop(dc, 0, -(w + legendGap + 2*vg.Millimeter), 0, 0)
			top := full.Max.Y - 2*vg.Millimeter
			if f.Plot != nil {
				top = f.Plot.DataCanvas(dc).Max.Y
			}
			out.Legends = append(out.Legends, drawLegend(full, leg, full.Max.X-w-2*vg.Millimeter, top, legends))
		}
	}
	if f.Tiles == nil {
		readableFonts(f.Plot, f.Width)
		drawPlot(f.Plot, dc, legends, &out)
		return out
	}
	rows, cols := len(f.Tiles), 0
	for _, r := range f.Tiles {
		cols = max(cols, len(r))
	}
	t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
		copy(grid[i], f.Tiles[i])
	}
	for _, row := range grid {
		for _, p := range row {
			if p != nil {
				readableFonts(p, f.Width) // before aligning: the axes' sizes depend on their fonts
			}
		}
	}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				drawPlot(p, canvases[i][j], legends, &out)
			}
		}
	}
	return out
}

// drawPlot draws p on c with its legend, if it has one, in a strip to the right of its axes, top-aligned with its
// data area.
func drawPlot(p *plot.Plot, c draw.Canvas, legends bool, out *layout) {
	w, _ := legendSize(&p.Legend)
	if w == 0 {
		p.Draw(c)
		out.add(p, c)
		return
	}
	leg := p.Legend
	p.Legend = plot.NewLegend() // drawn below, outside the axes
	defer func() { p.Legend = leg }()
	pc := draw.Crop(c, 0, -(w + legendGap), 0, 0)
	p.Draw(pc)
	out.add(p, pc)
	out.Legends = append(out.Legends, drawLegend(c, leg, c.Max.X-w, p.DataCanvas(pc).Max.Y, legends))
}

// readableFonts enlarges a plot's texts that a notebook would show below MinTextPixels (with a margin) when the
// figure is width wide.
func readableFonts(p *plot.Plot, width vg.Length) {
	grow := func(size *vg.Length, px float64) { *size = max(*size, readable(width, px)) }
	grow(&p.Title.TextStyle.Font.Size, 12.5)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		grow(&a.Label.TextStyle.Font.Size, 11.5)
		grow(&a.Tick.Label.Font.Size, 10.5)
	}
	spaceEntries(&p.Legend, width)
}

// spaceEntries makes a legend's texts readable at the figure's width and separates its entries.
func spaceEntries(l *plot.Legend, width vg.Length) {
	l.TextStyle.Font.Size = max(l.TextStyle.Font.Size, readable(width, 11))
	l.Padding = max(l.Padding, l.TextStyle.Font.Size/4)
}

// add records a plot's data area and title.
func (l *layout) add(p *plot.Plot, c draw.Canvas) {
	l.Data = append(l.Data, p.DataCanvas(c).Rectangle)
	if p.Title.Text != "" {
		r := p.Title.TextStyle.Rectangle(p.Title.Text)
		w, h := r.Size().X, r.Size().Y
		mid := c.Center().X
		l.Titles = append(l.Titles, vg.Rectangle{Min: vg.Point{X: mid - w/2, Y: c.Max.Y - h}, Max: vg.Point{X: mid + w/2, Y: c.Max.Y}})
	}
}

// legendSize is the extent of a legend's entries (zero for a legend without entries).
func legendSize(l *plot.Legend) (w, h vg.Length) {
	s := l.Rectangle(draw.Canvas{}).Size()
	return s.X, s.Y
}

// drawLegend draws l with its top-left corner at (x, top), icons left of the texts, and returns its rectangle.
func drawLegend(c draw.Canvas, l plot.Legend, x, top vg.Length, visible bool) vg.Rectangle {
	w, h := legendSize(&l)
	r := vg.Rectangle{Min: vg.Point{X: x, Y: top - h}, Max: vg.Point{X: x + w, Y: top}}
	if visible {
		l.Top, l.Left, l.XOffs, l.YOffs = true, true, 0, 0
		l.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: r})
	}
	return r
}

// newPlot is a plot with the figures' tick labels: every label of an axis with the same number of decimals, and no
// more than its values need ("175", not "175.00").
func newPlot() *plot.Plot {
	p := plot.New()
	p.X.Tick.Marker, p.Y.Tick.Marker = cleanTicks{}, cleanTicks{}
	return p
}

// cleanTicks are gonum/plot's default ticks with labels printed with the fewest decimals that show every major
// tick's value, the same for all.
type cleanTicks struct{}

// Ticks implements plot.Ticker.
func (cleanTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	decimals := 0
	for _, t := range ts {
		if t.Label == "" {
			continue
		}
		for decimals < 6 {
			scale := math.Pow(10, float64(decimals))
			if math.Abs(math.Round(t.Value*scale)-t.Value*scale) < 1e-6 {
				break
			}
			decimals++
		}
	}
	for i, t := range ts {
		if t.Label != "" {
			ts[i].Label = strconv.FormatFloat(t.Value, 'f', decimals, 64)
		}
	}
	return ts
}

// PNG renders the figure as a PNG image.
func (f Figure) PNG() ([]byte, error) {
	wt, err := f.writerTo("png")
	if err != nil {
		return nil, fmt.Errorf("rendering figure: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("rendering figure: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the figure to path; the format follows the extension (.png, .svg, .pdf). The file is written to a
// temporary name first and renamed, so an interrupted run never leaves a half-written figure.
func (f Figure) Save(path string) error {
	ext := filepath.Ext(path)
	if ext == "" {
		return fmt.Errorf("figure file %q: want an extension (.png, .svg or .pdf)", path)
	}
	wt, err := f.writerTo(ext[1:])
	if err != nil {
		return fmt.Errorf("figure file %q: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("rendering figure %q: %w", path, err)
	}
	return provenance.WriteFileAtomic(path, buf.Bytes())
}

// Colours used consistently across figures for the parts of the multi-task network and the models.
var (
	colorShared         = color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff} // blue
	colorClassification = color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff} // orange
	colorReadout        = color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff} // green
	colorPool           = color.RGBA{R: 0xb0, G: 0xb0, B: 0xb0, A: 0xff} // grey
)
