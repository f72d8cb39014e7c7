package corrupt

import (
	"math"
	"math/rand/v2"
)

var (
	defocusC = map[Preset][5][2]float64{
		PresetImageNetC:     {{3, .1}, {4, .5}, {6, .5}, {8, .5}, {10, .5}},
		PresetTinyImageNetC: {{.5, .6}, {1, .1}, {1.5, .1}, {2.5, .01}, {3, .1}},
	}
	glassC = map[Preset][5][3]float64{ // sigma, max_delta, iterations
		PresetImageNetC:     {{.7, 1, 2}, {.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}},
		PresetTinyImageNetC: {{.1, 1, 1}, {.5, 1, 1}, {.6, 1, 2}, {.7, 2, 1}, {.9, 2, 2}},
	}
	motionC = map[Preset][5][2]float64{ // radius, sigma
		PresetImageNetC:     {{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}},
		PresetTinyImageNetC: {{10, 1}, {10, 1.5}, {10, 2}, {10, 2.5}, {12, 3}},
	}
	zoomC = map[Preset][5][3]float64{ // start, stop (exclusive), step of numpy.arange
		PresetImageNetC:     {{1, 1.11, .01}, {1, 1.16, .01}, {1, 1.21, .02}, {1, 1.26, .02}, {1, 1.31, .03}},
		PresetTinyImageNetC: {{1, 1.06, .01}, {1, 1.11, .01}, {1, 1.16, .01}, {1, 1.21, .01}, {1, 1.26, .01}},
	}
)

// disk is imagecorruptions' anti-aliased disk kernel: the indicator of x²+y² ≤ r² on a grid of −8…8 (r ≤ 8) or
// −r…r, normalised to sum 1, then blurred by OpenCV's GaussianBlur (3×3, or 5×5 for r > 8) with σ = aliasBlur.
func disk(radius, aliasBlur float64) [][]float32 {
	half := 8
	ksize := 3
	if radius > 8 {
		half = int(radius)
		ksize = 5
	}
	n := 2*half + 1
	k := newF(n, n, 1)
	var sum float32
	for y := range n {
		for x := range n {
			dy, dx := float64(y-half), float64(x-half)
			if dx*dx+dy*dy <= radius*radius {
				k.v[y*n+x] = 1
				sum++
			}
		}
	}
	for i := range k.v {
		k.v[i] /= sum
	}
	// OpenCV's Gaussian kernel for a given ksize and sigma, applied with BORDER_REFLECT_101.
	g := make([]float32, ksize)
	var gs float64
	for i := range g {
		x := float64(i - ksize/2)
		w := math.Exp(-x * x / (2 * aliasBlur * aliasBlur))
		g[i] = float32(w)
		gs += w
	}
	for i := range g {
		g[i] /= float32(gs)
	}
	k = correlate1D(correlate1D(k, g, 0, mirror), g, 1, mirror)
	out := make([][]float32, n)
	for y := range n {
		out[y] = k.v[y*n : (y+1)*n]
	}
	// The blur's float rounding breaks the disk's diagonal symmetry by an ulp here and there; restore it exactly,
	// so that the convolution can share one multiply between k[i][j] and k[j][i].
	for y := range n {
		for x := y + 1; x < n; x++ {
			m := (out[y][x] + out[x][y]) / 2
			out[y][x], out[x][y] = m, m
		}
	}
	return out
}

// defocusBlur convolves each channel of x/255 with the anti-aliased disk.
func defocusBlur(img Image, sev int, p Preset, _ *rand.Rand) Image {
	c := defocusC[p][sev-1]
	f := toFloat(img, 255)
	out := filter2D(f, disk(c[0], c[1]))
	f.release()
	return out.toImage(255)
}

// glassBlur blurs, copies each pixel from a random neighbour (the reference's tuple "swap" on NumPy views sets
// x[h,w] = x[h',w'] and leaves x[h',w'] unchanged; offsets from randint(−δ, δ), which excludes δ), and blurs again.
func glassBlur(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := glassC[p][sev-1]
	sigma, delta, iters := c[0], int(c[1]), int(c[2])
	f := toFloat(img, 255)
	x := gaussianFilter(f, sigma, 4, nearest).toImage(255)
	f.release()
	h, w, ch := x.H, x.W, x.C
	for range iters {
		for yy := h - delta; yy > delta; yy-- {
			for xx := w - delta; xx > delta; xx-- {
				dx := rng.IntN(2*delta) - delta
				dy := rng.IntN(2*delta) - delta
				src := ((yy+dy)*w + xx + dx) * ch
				dst := (yy*w + xx) * ch
				copy(x.Pix[dst:dst+ch], x.Pix[src:src+ch])
			}
		}
	}
	f = toFloat(x, 255)
	defer f.release()
	return gaussianFilter(f, sigma, 4, nearest).toImage(255)
}

// motionBlur blurs along a random direction (uniform in ±45°) with the one-sided Gaussian kernel, on the 0…255 scale.
func motionBlur(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := motionC[p][sev-1]
	angle := rng.Float64()*90 - 45
	f := toFloat(img, 1)
	defer f.release()
	return motionBlurField(f, c[0], c[1], angle).toImage(1)
}

// zoomFactors is numpy.arange(start, stop, step).
func zoomFactors(c [3]float64) []float64 {
	n := int(math.Ceil((c[1] - c[0]) / c[2]))
	z := make([]float64, n)
	for i := range z {
		z[i] = c[0] + float64(i)*c[2]
	}
	return z
}

// zoomBlur averages the image with zoomed-in copies of itself.
func zoomBlur(img Image, sev int, p Preset, _ *rand.Rand) Image {
	f := toFloat(img, 255)
	zs := zoomFactors(zoomC[p][sev-1])
	out := newF(f.h, f.w, f.c)
	for _, z := range zs {
		addClippedZoom(out, f, z, p == PresetTinyImageNetC)
	}
	n := float32(len(zs) + 1)
	for i := range out.v {
		out.v[i] = (f.v[i] + out.v[i]) / n
	}
	f.release()
	return out.toImage(255)
}
