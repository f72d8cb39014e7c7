package neural

import (
	"fmt"
	"image"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// AtResolution returns the data set with its stimuli shown to the model at ppd pixels per degree instead of
// Meta.PPD: every image magnified (ppd > Meta.PPD) or shrunk (ppd < Meta.PPD) about its centre by ppd/Meta.PPD and
// resampled with a bilinear kernel (stretched when shrinking, so that it averages rather than aliases). The responses
// are the same trials; only the model's view of the stimuli changes. It is the appendix's resolution search
// (Fig. 12), which rescales the recorded stimuli before training a predictor on them.
//
// Deviation: the paper crops a 4.5° window at each resolution, so the model's input size changes with the
// resolution. The project's networks take a fixed input size (a multiple of 32), so the frame stays H×W: a magnified
// stimulus loses its periphery (the frame spans fewer degrees), and a shrunk one is surrounded by its own border's
// mean grey level, as a stimulus on the monitor's background.
func (d *Dataset) AtResolution(ppd float64) (*Dataset, error) {
	if d.Meta.PPD <= 0 {
		return nil, fmt.Errorf("%s: the data record no resolution (meta.json ppd %v)", d.Dir, d.Meta.PPD)
	}
	if !(ppd > 0) || ppd > 16*d.Meta.PPD || ppd < d.Meta.PPD/16 {
		return nil, fmt.Errorf("resolution %v ppd: want a positive value within a factor of 16 of the data's %v ppd",
			ppd, d.Meta.PPD)
	}
	out := *d
	out.Meta.PPD = ppd
	if ppd == d.Meta.PPD {
		return &out, nil
	}
	out.Images = make([]uint8, len(d.Images))
	scale := ppd / d.Meta.PPD
	// Source pixel centres (x+½) map to destination (x+½−c)·scale+c, c the frame's centre.
	cx, cy := float64(d.W)/2, float64(d.H)/2
	s2d := f64.Aff3{scale, 0, cx - scale*cx, 0, scale, cy - scale*cy}
	rect := image.Rect(0, 0, d.W, d.H)
	for i := range d.N {
		src := &image.Gray{Pix: d.Image(i), Stride: d.W, Rect: rect}
		dst := &image.Gray{Pix: out.Images[i*d.H*d.W : (i+1)*d.H*d.W], Stride: d.W, Rect: rect}
		background := borderMean(src)
		for k := range dst.Pix {
			dst.Pix[k] = background
		}
		draw.BiLinear.Transform(dst, s2d, src, rect, draw.Src, nil)
	}
	return &out, nil
}

// borderMean is the mean grey level of an image's outermost pixels.
func borderMean(img *image.Gray) uint8 {
	b := img.Rect
	var sum, n int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if y == b.Min.Y || y == b.Max.Y-1 || x == b.Min.X || x == b.Max.X-1 {
				sum += int(img.GrayAt(x, y).Y)
				n++
			}
		}
	}
	return uint8((sum + n/2) / n)
}
