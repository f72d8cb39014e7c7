// Package figures builds every figure of the paper (and of this reproduction) with gonum/plot: one exported
// function per figure, shared by the notebooks (which display them inline) and by `cotrain figures` (which writes
// them to figures/).
package figures

import (
	"bytes"
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Figure is a finished plot with the size it is meant to be drawn at.
type Figure struct {
	Plot          *plot.Plot
	Width, Height vg.Length
}

// PNG renders the figure as a PNG image at 150 dpi.
func (f Figure) PNG() ([]byte, error) {
	wt, err := f.Plot.WriterTo(f.Width, f.Height, "png")
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
	wt, err := f.Plot.WriterTo(f.Width, f.Height, ext[1:])
	if err != nil {
		return fmt.Errorf("figure file %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := wt.WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing figure %q: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing figure %q: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Colours used consistently across figures for the parts of the multi-task network and the models.
var (
	colorShared         = color.RGBA{R: 0x4c, G: 0x72, B: 0xb0, A: 0xff} // blue
	colorClassification = color.RGBA{R: 0xdd, G: 0x84, B: 0x52, A: 0xff} // orange
	colorReadout        = color.RGBA{R: 0x55, G: 0xa8, B: 0x68, A: 0xff} // green
	colorPool           = color.RGBA{R: 0xb0, G: 0xb0, B: 0xb0, A: 0xff} // grey
)
