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
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Figure is a finished plot, or a grid of panels (Tiles, row by row), with the size it is meant to be drawn at.
type Figure struct {
	Plot          *plot.Plot
	Tiles         [][]*plot.Plot
	Width, Height vg.Length
}

// writerTo renders the figure in the given format ("png", "svg", "pdf").
func (f Figure) writerTo(format string) (io.WriterTo, error) {
	if f.Tiles == nil {
		return f.Plot.WriterTo(f.Width, f.Height, format)
	}
	c, err := draw.NewFormattedCanvas(f.Width, f.Height, format)
	if err != nil {
		return nil, err
	}
	dc := draw.New(c)
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
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		for j, p := range grid[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	return c, nil
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
