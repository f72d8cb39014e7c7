// Package saliency provides the saliency maps of Section 4, a classical stand-in for DeepGaze II, with their masks,
// ϱ and ϱ̄.
//
// The maps say where in an image a reconstruction keeps its energy (Fig. 6 and 7). The paper used DeepGaze II, which
// cannot be obtained here; the spectral residual of Hou & Zhang (CVPR 2007) with a Gaussian centre bias stands in
// for it and is named as the stand-in wherever its results appear. A saliency map from elsewhere (DeepGaze's
// densities saved as .npy or PNG) can replace it (LoadMap).
//
// From a map the package derives the paper's measures (Section 4, Eq. 1, and the appendix on binarising saliency
// maps): the binary mask of the most salient pixels that hold 0.7 of the saliency mass, the share of an image's
// energy inside it, ϱ(I) = ||I·mask||²/||I||², and the normalised ratio ϱ̄ = (ϱ(I_r) − ϱ(I_o)) / (1 − ϱ(I_o)) of a
// reconstruction I_r against the original I_o.
package saliency

import (
	"fmt"
	"image"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sbinet/npyio"

	"github.com/robustvision/cotrain/pkg/fft"
	"github.com/robustvision/cotrain/pkg/imgproc"
)

// StandIn names the saliency model wherever its maps are shown.
const StandIn = "spectral-residual saliency with centre bias (classical stand-in for DeepGaze II)"

// Map is a saliency density over an image: non-negative, summing to 1.
type Map struct {
	H, W    int
	Density []float64
	Source  string
}

// SpectralResidual computes the stand-in saliency map of a grey image (any range): the spectral residual of the
// log-amplitude spectrum (its difference from a 3×3 local mean) transformed back with the image's phase, squared,
// smoothed by a Gaussian of σ = size/16, times a centre bias (a Gaussian of σ = size/3 about the centre, as eye
// fixations favour the centre), normalised to a density.
func SpectralResidual(img []float64, h, w int) (Map, error) {
	if len(img) != h*w || h < 4 || w < 4 {
		return Map{}, fmt.Errorf("saliency: %d pixels for a %d×%d image (want at least 4×4)", len(img), h, w)
	}
	spec := fft.FFT2(img, h, w)
	logAmp := make([]float64, h*w)
	var meanAmp float64
	for _, c := range spec {
		meanAmp += cmplx.Abs(c) / float64(h*w)
	}
	for i, c := range spec {
		logAmp[i] = math.Log(cmplx.Abs(c) + 1e-3*meanAmp + 1e-12) // floor: exact zeros of the spectrum carry no saliency
	}
	residual := make([]complex128, h*w)
	for y := range h {
		for x := range w {
			var mean float64
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					mean += logAmp[((y+dy+h)%h)*w+(x+dx+w)%w] // the spectrum is periodic
				}
			}
			i := y*w + x
			residual[i] = cmplx.Rect(math.Exp(logAmp[i]-mean/9), cmplx.Phase(spec[i]))
		}
	}
	back := fft.IFFT2(residual, h, w)
	sal := make([]float64, h*w)
	for i, c := range back {
		a := cmplx.Abs(c)
		sal[i] = a * a
	}
	size := float64(min(h, w))
	sal = imgproc.GaussianFilter(sal, h, w, size/16, 3, imgproc.Nearest)
	cy, cx, sc := float64(h-1)/2, float64(w-1)/2, size/3
	for y := range h {
		for x := range w {
			d2 := (float64(y)-cy)*(float64(y)-cy) + (float64(x)-cx)*(float64(x)-cx)
			sal[y*w+x] *= math.Exp(-d2 / (2 * sc * sc))
		}
	}
	return normalise(Map{H: h, W: w, Density: sal, Source: StandIn})
}

func normalise(m Map) (Map, error) {
	var sum float64
	for i, v := range m.Density {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Map{}, fmt.Errorf("saliency map %s: value %v at pixel %d (want non-negative numbers)", m.Source, v, i)
		}
		sum += v
	}
	if sum <= 0 {
		return Map{}, fmt.Errorf("saliency map %s: all zero", m.Source)
	}
	for i := range m.Density {
		m.Density[i] /= sum
	}
	return m, nil
}

// LoadMap reads a saliency map from a PNG (grey levels as density) or a .npy file (a 2-D array of densities, or of
// log-densities when logDensity is set, as DeepGaze writes them), resamples it to h×w and normalises it.
func LoadMap(file string, h, w int, logDensity bool) (Map, error) {
	var vals []float64
	var mh, mw int
	switch strings.ToLower(filepath.Ext(file)) {
	case ".npy":
		f, err := os.Open(file)
		if err != nil {
			return Map{}, err
		}
		defer f.Close()
		r, err := npyio.NewReader(f)
		if err != nil {
			return Map{}, fmt.Errorf("saliency map %s: %w", file, err)
		}
		if len(r.Header.Descr.Shape) != 2 {
			return Map{}, fmt.Errorf("saliency map %s: shape %v, want a 2-D array [height, width]", file, r.Header.Descr.Shape)
		}
		mh, mw = r.Header.Descr.Shape[0], r.Header.Descr.Shape[1]
		switch r.Header.Descr.Type {
		case "<f4":
			var v32 []float32
			if err := r.Read(&v32); err != nil {
				return Map{}, fmt.Errorf("saliency map %s: %w", file, err)
			}
			for _, v := range v32 {
				vals = append(vals, float64(v))
			}
		case "<f8":
			if err := r.Read(&vals); err != nil {
				return Map{}, fmt.Errorf("saliency map %s: %w", file, err)
			}
		default:
			return Map{}, fmt.Errorf("saliency map %s: dtype %s, want float32 or float64", file, r.Header.Descr.Type)
		}
	case ".png", ".jpg", ".jpeg":
		img, err := imgproc.DecodeFile(file)
		if err != nil {
			return Map{}, fmt.Errorf("saliency map %s: %w", file, err)
		}
		vals, mh, mw = grey(img)
	default:
		return Map{}, fmt.Errorf("saliency map %s: want a .npy or .png file", file)
	}
	if logDensity {
		for i, v := range vals {
			vals[i] = math.Exp(v)
		}
	}
	return normalise(Map{H: h, W: w, Density: resample(vals, mh, mw, h, w), Source: file})
}

func grey(img image.Image) ([]float64, int, int) {
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float64, h*w)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			out[y*w+x] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
		}
	}
	return out, h, w
}

// resample averages (shrinking) or interpolates bilinearly (enlarging) an h×w array to nh×nw.
func resample(v []float64, h, w, nh, nw int) []float64 {
	if h == nh && w == nw {
		return append([]float64(nil), v...)
	}
	out := make([]float64, nh*nw)
	for y := range nh {
		for x := range nw {
			// The source area of the output pixel, averaged on a fine grid (bilinear at each sample).
			var s float64
			const sub = 4
			for sy := range sub {
				for sx := range sub {
					fy := (float64(y)+(float64(sy)+0.5)/sub)*float64(h)/float64(nh) - 0.5
					fx := (float64(x)+(float64(sx)+0.5)/sub)*float64(w)/float64(nw) - 0.5
					s += bilinear(v, h, w, fy, fx)
				}
			}
			out[y*nw+x] = s / (sub * sub)
		}
	}
	return out
}

func bilinear(v []float64, h, w int, y, x float64) float64 {
	y = math.Min(math.Max(y, 0), float64(h-1))
	x = math.Min(math.Max(x, 0), float64(w-1))
	y0, x0 := int(y), int(x)
	y1, x1 := min(y0+1, h-1), min(x0+1, w-1)
	fy, fx := y-float64(y0), x-float64(x0)
	return (1-fy)*((1-fx)*v[y0*w+x0]+fx*v[y0*w+x1]) + fy*((1-fx)*v[y1*w+x0]+fx*v[y1*w+x1])
}

// MaskFraction is the saliency mass the paper's mask holds (appendix, "Binarization of saliency density maps").
const MaskFraction = 0.7

// EdgeMap is a density over an image's edges: its gradient magnitude (central differences, the border replicated),
// normalised to sum 1. Its Mask marks the pixels that hold most of the image's edge energy: the regions "edges and
// object boundaries" of Section 4.
func EdgeMap(img []float64, h, w int) Map {
	at := func(y, x int) float64 { return img[min(max(y, 0), h-1)*w+min(max(x, 0), w-1)] }
	d := make([]float64, h*w)
	var sum float64
	for y := range h {
		for x := range w {
			gx, gy := (at(y, x+1)-at(y, x-1))/2, (at(y+1, x)-at(y-1, x))/2
			d[y*w+x] = math.Hypot(gx, gy)
			sum += d[y*w+x]
		}
	}
	for i := range d {
		if sum > 0 {
			d[i] /= sum
		} else {
			d[i] = 1 / float64(len(d))
		}
	}
	return Map{H: h, W: w, Density: d, Source: "gradient magnitude"}
}

// Mask marks the most salient pixels: pixels sorted by density, descending, are taken while the mass taken before
// them is below fraction, so the mask holds at least fraction of the mass and less than fraction plus one pixel's.
func (m Map) Mask(fraction float64) []bool {
	idx := make([]int, len(m.Density))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return m.Density[idx[a]] > m.Density[idx[b]] })
	mask := make([]bool, len(m.Density))
	var cum float64
	for _, i := range idx {
		if cum >= fraction {
			break
		}
		mask[i] = true
		cum += m.Density[i]
	}
	return mask
}

// Rho is ϱ(I) = ||I·mask||² / ||I||²: the share of an image's energy inside the mask (NaN for a zero image).
func Rho(img []float64, mask []bool) float64 {
	var in, all float64
	for i, v := range img {
		all += v * v
		if mask[i] {
			in += v * v
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return in / all
}

// NormalisedRatio is ϱ̄ = (ϱ(I_r) − ϱ(I_o)) / (1 − ϱ(I_o)): how much more of the reconstruction's energy than of the
// original's lies in the salient region, as a fraction of what could (1 when all of it does, 0 when no more than in
// the original, negative when less).
func NormalisedRatio(reconstruction, original []float64, mask []bool) float64 {
	ro := Rho(original, mask)
	return (Rho(reconstruction, mask) - ro) / (1 - ro)
}
