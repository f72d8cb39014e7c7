package corrupt

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"

	"github.com/robustvision/cotrain/pkg/imgproc"
)

var (
	contrastC = [5]float64{.4, .3, .2, .1, .05} // both presets
	elasticIC = [5]float64{250 * .05, 250 * .065, 250 * .085, 250 * .1, 250 * .12}
	elasticHR = [5][3]float64{{0, 0, .08}, {.05, .3, .06}, {.1, .08, .06}, {.1, .03, .03}, {.16, .03, .02}} // ×image size: alpha, sigma, affine
	pixelateC = map[Preset][5]float64{PresetImageNetC: {.6, .5, .4, .3, .25}, PresetTinyImageNetC: {.9, .8, .7, .6, .5}}
	jpegC     = map[Preset][5]int{PresetImageNetC: {25, 18, 15, 10, 7}, PresetTinyImageNetC: {65, 58, 50, 40, 25}}
)

// contrast scales each channel's deviation from its spatial mean by c.
func contrast(img Image, sev int, _ Preset, _ *rand.Rand) Image {
	c := float32(contrastC[sev-1])
	x := toFloat(img, 255)
	n := float64(x.h * x.w)
	for ch := range x.c {
		var sum float64
		for i := ch; i < len(x.v); i += x.c {
			sum += float64(x.v[i])
		}
		mean := float32(sum / n)
		for i := ch; i < len(x.v); i += x.c {
			x.v[i] = (x.v[i]-mean)*c + mean
		}
	}
	return x.toImage(255)
}

// elasticTransform displaces every pixel by a smooth random field. imagenet-c (imagecorruptions): uniform noise of
// amplitude 0.005·H, Gaussian-smoothed with σ = 0.01·(H, W) (imgproc.Reflect, truncate 3), scaled by α. tiny-imagenet-c
// (make_tinyimagenet_c.py): a random affine warp of three control points, then the displacement field with the
// preset's (α, σ). Sampling is bilinear with half-sample-symmetric (scipy "reflect") boundaries.
func elasticTransform(img Image, sev int, p Preset, rng *rand.Rand) Image {
	x := toFloat(img, 255)
	h, w := x.h, x.w
	field := func(amp, sigmaY, sigmaX, alpha float64) fimage {
		f := newF(h, w, 1)
		for i := range f.v {
			f.v[i] = float32(rng.Float64()*2*amp - amp)
		}
		f = correlate1D(f, gaussianKernel1D(sigmaY, 3), 0, imgproc.Reflect)
		f = correlate1D(f, gaussianKernel1D(sigmaX, 3), 1, imgproc.Reflect)
		for i := range f.v {
			f.v[i] *= float32(alpha)
		}
		return f
	}
	var dx, dy fimage
	if p == PresetTinyImageNetC {
		c := elasticHR[sev-1]
		size := float64(h) // the generator's IMSIZE: 64 for Tiny ImageNet
		x = randomAffine(x, c[2]*size, rng)
		alpha, sigma := c[0]*size, c[1]*size
		if sigma == 0 {
			sigma = 1e-6 // gaussian with σ = 0 is the identity
		}
		dx, dy = field(1, sigma, sigma, alpha), field(1, sigma, sigma, alpha)
	} else {
		alpha := elasticIC[sev-1]
		amp := float64(h) * 0.005
		dx = field(amp, float64(h)*0.01, float64(w)*0.01, alpha)
		dy = field(amp, float64(h)*0.01, float64(w)*0.01, alpha)
	}
	out := newF(h, w, x.c)
	for y := range h {
		for xx := range w {
			i := y*w + xx
			sampleBilinear(out.v[i*x.c:(i+1)*x.c], x, float64(y)+float64(dy.v[i]), float64(xx)+float64(dx.v[i]), imgproc.Reflect)
		}
	}
	return out.toImage(255)
}

// randomAffine is the affine part of make_tinyimagenet_c.py's elastic transform: three control points around the
// centre moved by U(−amount, amount), the affine map between them (cv2.getAffineTransform), and cv2.warpAffine with
// bilinear sampling and BORDER_REFLECT_101.
func randomAffine(x fimage, amount float64, rng *rand.Rand) fimage {
	cy, cx := float64(x.h/2), float64(x.w/2)
	sq := float64(min(x.h, x.w) / 3)
	// Points as (x, y), as OpenCV expects.
	src := [3][2]float64{{cx + sq, cy + sq}, {cx + sq, cy - sq}, {cx - sq, cy - sq}}
	var dst [3][2]float64
	for i := range src {
		for j := range 2 {
			dst[i][j] = src[i][j] + rng.Float64()*2*amount - amount
		}
	}
	// warpAffine samples the source at M⁻¹(p): solve for the map from dst points to src points directly.
	inv, ok := affineFrom(dst, src)
	if !ok {
		return x
	}
	out := newF(x.h, x.w, x.c)
	for y := range x.h {
		for xx := range x.w {
			sx := inv[0]*float64(xx) + inv[1]*float64(y) + inv[2]
			sy := inv[3]*float64(xx) + inv[4]*float64(y) + inv[5]
			for ch := range x.c {
				out.v[(y*x.w+xx)*x.c+ch] = bilinearAt(x, sy, sx, ch, imgproc.Mirror)
			}
		}
	}
	return out
}

// affineFrom solves for the 2×3 affine map (row-major) that takes the three points a to the three points b.
func affineFrom(a, b [3][2]float64) ([6]float64, bool) {
	// [ax ay 1] · [m0 m3; m1 m4; m2 m5] = [bx by]
	det := a[0][0]*(a[1][1]-a[2][1]) - a[0][1]*(a[1][0]-a[2][0]) + (a[1][0]*a[2][1] - a[2][0]*a[1][1])
	if math.Abs(det) < 1e-12 {
		return [6]float64{}, false
	}
	solve := func(r [3]float64) (float64, float64, float64) {
		// Cramer's rule on the 3×3 system rows (ax, ay, 1) · (p, q, s) = r.
		d1 := r[0]*(a[1][1]-a[2][1]) - a[0][1]*(r[1]-r[2]) + (r[1]*a[2][1] - r[2]*a[1][1])
		d2 := a[0][0]*(r[1]-r[2]) - r[0]*(a[1][0]-a[2][0]) + (a[1][0]*r[2] - a[2][0]*r[1])
		d3 := a[0][0]*(a[1][1]*r[2]-a[2][1]*r[1]) - a[0][1]*(a[1][0]*r[2]-a[2][0]*r[1]) + r[0]*(a[1][0]*a[2][1]-a[2][0]*a[1][1])
		return d1 / det, d2 / det, d3 / det
	}
	m0, m1, m2 := solve([3]float64{b[0][0], b[1][0], b[2][0]})
	m3, m4, m5 := solve([3]float64{b[0][1], b[1][1], b[2][1]})
	return [6]float64{m0, m1, m2, m3, m4, m5}, true
}

// pixelate shrinks the image by c with PIL's BOX filter and enlarges it back with NEAREST (imagenet-c) or BOX
// (tiny-imagenet-c).
func pixelate(img Image, sev int, p Preset, _ *rand.Rand) Image {
	c := pixelateC[p][sev-1]
	sw, sh := int(float64(img.W)*c), int(float64(img.H)*c)
	small := resizeBox(img, sh, sw)
	if p == PresetTinyImageNetC {
		return resizeBox(small, img.H, img.W)
	}
	return resizeNearest(small, img.H, img.W)
}

// resizeBox is PIL's Image.resize with the BOX filter: separable, horizontal pass first, each output pixel the mean
// of the input pixels whose centres fall in its footprint, rounded to 8 bits after each pass.
func resizeBox(img Image, oh, ow int) Image {
	out := img
	if ow != img.W {
		out = resamplePass(out, ow, true)
	}
	if oh != img.H {
		out = resamplePass(out, oh, false)
	}
	return out
}

// boxCoefficients mirrors PIL's precompute_coeffs for the box filter (support 0.5).
func boxCoefficients(in, out int) (bounds [][2]int, weights [][]float64) {
	scale := float64(in) / float64(out)
	filterscale := math.Max(scale, 1)
	support := 0.5 * filterscale
	for xx := range out {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > in {
			xmax = in
		}
		var ks []float64
		var ww float64
		for x := xmin; x < xmax; x++ {
			arg := (float64(x) - center + 0.5) / filterscale
			w := 0.0
			if arg > -0.5 && arg <= 0.5 {
				w = 1
			}
			ks = append(ks, w)
			ww += w
		}
		for i := range ks {
			if ww != 0 {
				ks[i] /= ww
			}
		}
		bounds = append(bounds, [2]int{xmin, xmax})
		weights = append(weights, ks)
	}
	return bounds, weights
}

func resamplePass(img Image, n int, horizontal bool) Image {
	var out Image
	in := img.H
	if horizontal {
		out, in = NewImage(img.H, n, img.C), img.W
	} else {
		out = NewImage(n, img.W, img.C)
	}
	bounds, weights := boxCoefficients(in, n)
	for y := range out.H {
		for x := range out.W {
			for ch := range img.C {
				var s float64
				o := x
				if !horizontal {
					o = y
				}
				for k, w := range weights[o] {
					j := bounds[o][0] + k
					var v uint8
					if horizontal {
						v = img.Pix[(y*img.W+j)*img.C+ch]
					} else {
						v = img.Pix[(j*img.W+x)*img.C+ch]
					}
					s += w * float64(v)
				}
				out.Pix[(y*out.W+x)*out.C+ch] = uint8(math.Min(255, math.Floor(s+0.5)))
			}
		}
	}
	return out
}

// resizeNearest is PIL's NEAREST resize: output pixel o takes input pixel floor((o + 0.5)·in/out).
func resizeNearest(img Image, oh, ow int) Image {
	out := NewImage(oh, ow, img.C)
	for y := range oh {
		sy := int(math.Floor((float64(y) + 0.5) * float64(img.H) / float64(oh)))
		for x := range ow {
			sx := int(math.Floor((float64(x) + 0.5) * float64(img.W) / float64(ow)))
			copy(out.Pix[(y*ow+x)*img.C:(y*ow+x+1)*img.C], img.Pix[(sy*img.W+sx)*img.C:(sy*img.W+sx+1)*img.C])
		}
	}
	return out
}

// jpegCompression encodes the image as a baseline JPEG at quality c (4:2:0 chroma subsampling, standard tables
// scaled as libjpeg does, like PIL) and decodes it.
func jpegCompression(img Image, sev int, p Preset, _ *rand.Rand) Image {
	q := jpegC[p][sev-1]
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img.ToStd(), &jpeg.Options{Quality: q}); err != nil {
		panic(err) // cannot fail for an in-memory RGBA image
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	return FromStd(dec, img.C)
}

// ToStd converts to a standard library image (*image.Gray or *image.RGBA).
func (m Image) ToStd() image.Image {
	r := image.Rect(0, 0, m.W, m.H)
	if m.C == 1 {
		g := image.NewGray(r)
		copy(g.Pix, m.Pix)
		return g
	}
	rgba := image.NewRGBA(r)
	for i := range m.H * m.W {
		rgba.Pix[4*i], rgba.Pix[4*i+1], rgba.Pix[4*i+2], rgba.Pix[4*i+3] = m.Pix[3*i], m.Pix[3*i+1], m.Pix[3*i+2], 255
	}
	return rgba
}

// FromStd converts a standard library image to an Image with c channels (1: PIL "L" conversion of the colours;
// 3: RGB, alpha dropped).
func FromStd(src image.Image, c int) Image {
	b := src.Bounds()
	rgb := NewImage(b.Dy(), b.Dx(), 3)
	for y := range b.Dy() {
		for x := range b.Dx() {
			r, g, bl, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := (y*b.Dx() + x) * 3
			rgb.Pix[i], rgb.Pix[i+1], rgb.Pix[i+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	if g, ok := src.(*image.Gray); ok && c == 1 {
		out := NewImage(b.Dy(), b.Dx(), 1)
		for y := range b.Dy() {
			copy(out.Pix[y*b.Dx():(y+1)*b.Dx()], g.Pix[y*g.Stride:y*g.Stride+b.Dx()])
		}
		return out
	}
	if c == 1 {
		return RGBToGray(rgb)
	}
	return rgb
}
