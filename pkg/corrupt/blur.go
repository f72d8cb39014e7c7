package corrupt

import (
	"math"
	"math/rand/v2"

	"github.com/robustvision/cotrain/pkg/imgproc"
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
	k = correlate1D(correlate1D(k, g, 0, imgproc.Mirror), g, 1, imgproc.Mirror)
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
	x := gaussianFilter(f, sigma, 4, imgproc.Nearest).toImage(255)
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
	return gaussianFilter(f, sigma, 4, imgproc.Nearest).toImage(255)
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

// clippedZoom is imagecorruptions' clipped_zoom: a centre crop of ceil(n/z) pixels, zoomed by z, then the first
// h×w pixels (or, with centred, the centre h×w pixels as Hendrycks' Tiny-ImageNet-C generator does).
func clippedZoom(f fimage, z float64, centred bool) fimage {
	ch0 := int(math.Ceil(float64(f.h) / z))
	ch1 := int(math.Ceil(float64(f.w) / z))
	top0, top1 := (f.h-ch0)/2, (f.w-ch1)/2
	zoomed := zoom(crop(f, top0, top1, ch0, ch1), z)
	ty, tx := 0, 0
	if centred {
		ty, tx = (zoomed.h-f.h)/2, (zoomed.w-f.w)/2
	}
	h, w := min(f.h, zoomed.h-ty), min(f.w, zoomed.w-tx)
	out := crop(zoomed, ty, tx, h, w)
	if h < f.h || w < f.w { // pad (never happens for z ≥ 1)
		p := newF(f.h, f.w, f.c)
		for y := range h {
			copy(p.v[y*f.w*f.c:], out.v[y*w*f.c:(y+1)*w*f.c])
		}
		out = p
	}
	return out
}

// motionBlurKernel is imagecorruptions' one-sided Gaussian kernel: k_i ∝ exp(−i²/(2σ²)), i = 0 … 2·radius.
func motionBlurKernel(radius, sigma float64) []float32 {
	width := int(2*radius + 1)
	k := make([]float64, width)
	var sum float64
	for i := range k {
		k[i] = math.Exp(-float64(i*i)/(2*sigma*sigma)) / (math.Sqrt(2*math.Pi) * sigma)
		sum += k[i]
	}
	out := make([]float32, width)
	for i := range k {
		out[i] = float32(k[i] / sum)
	}
	return out
}

// motionBlurField is imagecorruptions' _motion_blur: the sum over i of k_i times the image shifted by i pixels against
// the direction angle (degrees), with edge replication. It stops (leaving the kernel's tail out) once a shift reaches
// the image size.
func motionBlurField(f fimage, radius, sigma, angle float64) fimage {
	k := motionBlurKernel(radius, sigma)
	width := float64(len(k))
	rad := angle * math.Pi / 180
	py, px := width*math.Sin(rad), width*math.Cos(rad)
	hyp := math.Hypot(py, px)
	out := newF(f.h, f.w, f.c)
	c := f.c
	rowLen := f.w * c
	for i, kv := range k {
		dy := -int(math.Ceil(float64(i)*py/hyp - 0.5))
		dx := -int(math.Ceil(float64(i)*px/hyp - 0.5))
		if abs(dy) >= f.h || abs(dx) >= f.w {
			break
		}
		// out(y, x) += kv · in(clamp(y−dy), clamp(x−dx)): the middle of each row is a shifted copy, the ends repeat
		// the edge pixel.
		x0, x1 := max(0, dx), min(f.w, f.w+dx) // columns whose source x−dx is inside the image
		for y := range f.h {
			sy := min(max(y-dy, 0), f.h-1)
			src := f.v[sy*rowLen : (sy+1)*rowLen]
			dst := out.v[y*rowLen : (y+1)*rowLen]
			mid := dst[x0*c : x1*c]
			from := src[(x0-dx)*c : (x1-dx)*c]
			from = from[:len(mid)]
			for j, v := range from {
				mid[j] += kv * v
			}
			for x := 0; x < x0; x++ { // left edge: source column 0
				for ch := range c {
					dst[x*c+ch] += kv * src[ch]
				}
			}
			for x := x1; x < f.w; x++ { // right edge: source column w−1
				for ch := range c {
					dst[x*c+ch] += kv * src[(f.w-1)*c+ch]
				}
			}
		}
	}
	return out
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// addClippedZoom adds clippedZoom(f, z, centred) to acc without materialising the crop or the zoomed image.
func addClippedZoom(acc, f fimage, z float64, centred bool) {
	ch0 := int(math.Ceil(float64(f.h) / z))
	ch1 := int(math.Ceil(float64(f.w) / z))
	top0, top1 := (f.h-ch0)/2, (f.w-ch1)/2
	oh, ow := int(math.Round(float64(ch0)*z)), int(math.Round(float64(ch1)*z))
	ty, tx := 0, 0
	if centred {
		ty, tx = (oh-f.h)/2, (ow-f.w)/2
	}
	y0, y1, wy := linearTaps(ch0, oh)
	x0, x1, wx := linearTaps(ch1, ow)
	c := f.c
	tmp := make([]float32, ch1*c) // the crop's two source rows, interpolated vertically once per output row
	for y := range min(f.h, oh-ty) {
		oy := y + ty
		r0 := f.v[((top0+y0[oy])*f.w+top1)*c:][:ch1*c]
		r1 := f.v[((top0+y1[oy])*f.w+top1)*c:][:ch1*c]
		a := wy[oy]
		for i, v := range r0 {
			tmp[i] = (1-a)*v + a*r1[i]
		}
		row := acc.v[y*f.w*c:]
		nx := min(f.w, ow-tx)
		if c == 3 { // RGB, unrolled
			row := row[:3*nx]
			for x := range nx {
				ox := x + tx
				c0, c1, bw := x0[ox]*3, x1[ox]*3, wx[ox]
				aw := 1 - bw
				s0, s1 := tmp[c0:c0+3], tmp[c1:c1+3]
				d := row[3*x : 3*x+3]
				d[0] += aw*s0[0] + bw*s1[0]
				d[1] += aw*s0[1] + bw*s1[1]
				d[2] += aw*s0[2] + bw*s1[2]
			}
			continue
		}
		for x := range nx {
			ox := x + tx
			c0, c1, bw := x0[ox]*c, x1[ox]*c, wx[ox]
			for k := range c {
				row[x*c+k] += (1-bw)*tmp[c0+k] + bw*tmp[c1+k]
			}
		}
	}
}
