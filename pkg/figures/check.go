package figures

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"reflect"
	"unsafe"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// MinTextPixels is the smallest text height, in pixels at the notebook's display size, that Check accepts;
// EdgeMargin is how close to the canvas's edge ink may come (text or lines cut by the edge leave ink there); and
// MinMarkerContrast is the smallest contrast ratio (WCAG's, against the white background) of a scatter marker.
const (
	MinTextPixels     = 10
	EdgeMargin        = 2
	MinMarkerContrast = 1.6
)

// Check renders the figure and reports what would make it hard to read: a legend that covers a plot's data area or
// title or falls off the figure, axes squeezed to nothing, text smaller than MinTextPixels when a notebook shows
// the figure (scaled down to DisplayWidth if wider), ink within EdgeMargin pixels of the canvas's edge (a label cut
// by it), or scatter markers too light to see (MinMarkerContrast). The legends are located by their pixels: the
// figure is drawn with and without them, and every pixel that differs must lie outside every data area and title.
func (f Figure) Check() error { return f.check(f.draw) }

// check is Check with the figure drawn by drawFn.
func (f Figure) check(drawFn func(dc draw.Canvas, legends bool) layout) error {
	wpx, hpx := int(f.Width.Dots(DPI)+0.5), int(f.Height.Dots(DPI)+0.5)
	if wpx < 1 || hpx < 1 {
		return fmt.Errorf("figure size %v×%v", f.Width, f.Height)
	}
	render := func(legends bool) (*image.RGBA, layout, []drawnText) {
		c := vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(DPI))
		rec := &textRecorder{Canvas: c}
		l := drawFn(draw.New(rec), legends)
		return c.Image().(*image.RGBA), l, rec.texts
	}
	with, l, texts := render(true)
	without, _, _ := render(false)
	scale := min(1, float64(DisplayWidth)/float64(wpx))
	for _, t := range texts {
		if px := t.face.Font.Size.Dots(DPI) * scale; px < MinTextPixels-0.05 {
			return fmt.Errorf("text %q: %.1f pt is %.1f px high at the notebook's display width of %d px (want ≥ %d)",
				t.s, float64(t.face.Font.Size), px, DisplayWidth, MinTextPixels)
		}
	}
	toPixels := func(r vg.Rectangle) image.Rectangle {
		return image.Rect(int(r.Min.X.Dots(DPI)), hpx-int(r.Max.Y.Dots(DPI)), int(r.Max.X.Dots(DPI)+0.999),
			hpx-int(r.Min.Y.Dots(DPI)))
	}
	frame := image.Rect(0, 0, wpx, hpx)
	var covered []image.Rectangle
	for _, r := range l.Data {
		if r.Max.X-r.Min.X < vg.Millimeter*10 || r.Max.Y-r.Min.Y < vg.Millimeter*10 {
			return fmt.Errorf("a plot's axes are squeezed to %.0f×%.0f mm (legend or labels too large for the figure)",
				(r.Max.X-r.Min.X)/vg.Millimeter, (r.Max.Y-r.Min.Y)/vg.Millimeter)
		}
		covered = append(covered, toPixels(r).Inset(1))
	}
	for i, r := range l.Titles {
		t := toPixels(r)
		if !t.In(frame) {
			return fmt.Errorf("a title (%v) falls off the %d×%d px figure", t, wpx, hpx)
		}
		for _, o := range l.Titles[:i] {
			if t.Overlaps(toPixels(o)) {
				return fmt.Errorf("two titles overlap (%v and %v)", t, toPixels(o))
			}
		}
		covered = append(covered, t)
	}
	for _, r := range l.Legends {
		if !toPixels(r).Inset(1).In(frame) {
			return fmt.Errorf("a legend (%v) falls off the %d×%d px figure", toPixels(r), wpx, hpx)
		}
	}
	for y := range hpx {
		for x := range wpx {
			i := with.PixOffset(x, y)
			if with.Pix[i] == without.Pix[i] && with.Pix[i+1] == without.Pix[i+1] && with.Pix[i+2] == without.Pix[i+2] {
				continue
			}
			for _, r := range covered {
				if (image.Point{X: x, Y: y}).In(r) {
					return fmt.Errorf("a legend covers a plot's data or title at pixel (%d, %d) of %d×%d", x, y, wpx, hpx)
				}
			}
		}
	}
	// Last, what any of the above also causes, so that the more specific message wins: ink at the canvas's edge,
	// and markers too faint to see.
	if err := inkAtEdge(with); err != nil {
		return err
	}
	return f.markerContrast()
}

// readable is the font size that is px pixels high when a figure width wide is shown in a notebook.
func readable(width vg.Length, px float64) vg.Length {
	scale := min(1, float64(DisplayWidth)/width.Dots(DPI))
	return vg.Length(px / scale * 72 / DPI)
}

// textRecorder is a canvas that remembers the font of every text drawn on it.
type textRecorder struct {
	*vgimg.Canvas
	texts []drawnText
}

// drawnText is a string drawn, with its font.
type drawnText struct {
	face font.Face
	s    string
}

// FillString implements vg.Canvas.
func (r *textRecorder) FillString(f font.Face, pt vg.Point, s string) {
	r.texts = append(r.texts, drawnText{f, s})
	r.Canvas.FillString(f, pt, s)
}

// inkAtEdge reports ink (a pixel that is not the white background) within EdgeMargin pixels of the canvas's edge.
func inkAtEdge(img *image.RGBA) error {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if x >= b.Min.X+EdgeMargin && x < b.Max.X-EdgeMargin && y >= b.Min.Y+EdgeMargin && y < b.Max.Y-EdgeMargin {
				continue
			}
			i := img.PixOffset(x, y)
			if img.Pix[i] < 250 || img.Pix[i+1] < 250 || img.Pix[i+2] < 250 {
				return fmt.Errorf("ink at pixel (%d, %d), within %d px of the %d×%d canvas's edge (a label or line cut "+
					"by it?)", x, y, EdgeMargin, b.Dx(), b.Dy())
			}
		}
	}
	return nil
}

// markerContrast reports a scatter marker whose colour has a contrast ratio below MinMarkerContrast against white.
func (f Figure) markerContrast() error {
	plots := append([]*plot.Plot(nil), f.Plot)
	for _, row := range f.Tiles {
		plots = append(plots, row...)
	}
	for _, p := range plots {
		if p == nil {
			continue
		}
		for _, pl := range plottersOf(p) {
			s, ok := pl.(*plotter.Scatter)
			if !ok {
				continue
			}
			for i := range s.XYs {
				style := s.GlyphStyle
				if s.GlyphStyleFunc != nil {
					style = s.GlyphStyleFunc(i)
				}
				if c := contrastOnWhite(style.Color); c < MinMarkerContrast {
					return fmt.Errorf("a marker of %q is too light to see: contrast %.2f against white (want ≥ %.1f)",
						p.Title.Text, c, MinMarkerContrast)
				}
			}
		}
	}
	return nil
}

// contrastOnWhite is WCAG's contrast ratio of a colour against white: 1.05 / (L + 0.05), L the relative luminance.
func contrastOnWhite(c color.Color) float64 {
	if c == nil {
		return 21
	}
	r, g, b, a := c.RGBA()
	lin := func(v uint32) float64 {
		x := float64(v) / 0xffff
		x = x*float64(a)/0xffff + (1 - float64(a)/0xffff) // over white
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
	return 1.05 / (l + 0.05)
}

// plottersOf are the plotters added to p. gonum/plot v0.17 keeps them unexported, with no accessor; the check reads
// them (read-only) to see the markers' styles.
func plottersOf(p *plot.Plot) []plot.Plotter {
	v := reflect.ValueOf(p).Elem().FieldByName("plotters")
	if !v.IsValid() {
		return nil
	}
	ps, _ := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().([]plot.Plotter)
	return ps
}
