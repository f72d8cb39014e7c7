package corrupt

import (
	"math"
	"sync"

	"github.com/robustvision/cotrain/pkg/imgproc"
)

// The corruptions' image primitives: float images (recycled), conversions, correlation, Gaussian filtering, zoom
// and bilinear sampling under scipy.ndimage's boundary modes (imgproc.Boundary).

// fimage is a float32 image in [0,1] (or 0…255 where a corruption works on that scale), HWC layout.
type fimage struct {
	h, w, c int
	v       []float32
}

func newF(h, w, c int) fimage { return fimage{h, w, c, floats(h * w * c)} }

// floatPool recycles the storage of intermediate float images: without it, corrupting a 64×64 RGB image allocates
// about 80 kB, and on two cores the garbage collector then takes a tenth of the time.
var floatPool sync.Pool // of *[]float32

// floats returns a zeroed slice of n values, recycled when possible.
func floats(n int) []float32 {
	if p, ok := floatPool.Get().(*[]float32); ok && cap(*p) >= n {
		v := (*p)[:n]
		clear(v)
		return v
	}
	return make([]float32, n)
}

// recycle returns v's storage to the pool; v must not be used afterwards.
func recycle(v []float32) {
	v = v[:0]
	floatPool.Put(&v)
}

// release recycles f's storage; f must not be used afterwards.
func (f fimage) release() { recycle(f.v) }

// unitLevels[p] = p/255 and rawLevels[p] = p as float32: the two scalings toFloat uses, by table lookup.
var unitLevels, rawLevels = func() (u, r [256]float32) {
	for p := range 256 {
		u[p], r[p] = float32(p)/255, float32(p)
	}
	return
}()

// toFloat scales an 8-bit image by 1/scale (scale 255 gives [0,1]; 1 keeps 0…255).
func toFloat(m Image, scale float32) fimage {
	f := newF(m.H, m.W, m.C)
	var lut *[256]float32
	switch scale {
	case 255:
		lut = &unitLevels
	case 1:
		lut = &rawLevels
	}
	if lut != nil {
		for i, p := range m.Pix {
			f.v[i] = lut[p]
		}
		return f
	}
	for i, p := range m.Pix {
		f.v[i] = float32(p) / scale
	}
	return f
}

// toImage clips to [0, 1] (or [0, 255] for scale 1), multiplies by 255 (scale 255) and truncates to 8 bits, as
// imagecorruptions' `np.uint8(np.clip(x, 0, 1) * 255)`. It is f's last use: f's storage is recycled.
func (f fimage) toImage(scale float32) Image {
	defer f.release()
	m := NewImage(f.h, f.w, f.c)
	hi := 255 / scale
	pix := m.Pix[:len(f.v)]
	for i, v := range f.v {
		switch {
		case v > 0 && v < hi: // false for NaN
			pix[i] = uint8(v * scale)
		case v >= hi:
			pix[i] = uint8(hi * scale)
		default: // below 0, or NaN
			pix[i] = 0
		}
	}
	return m
}

// gaussianKernel1D is imgproc.GaussianKernel in float32 (the corruptions filter float32 images).
func gaussianKernel1D(sigma, truncate float64) []float32 {
	k := imgproc.GaussianKernel(sigma, truncate)
	out := make([]float32, len(k))
	for i, v := range k {
		out[i] = float32(v)
	}
	return out
}

// padded returns f extended by ry rows and rx columns on each side under the boundary mode b (zeros for constant),
// channels interleaved as in f; stride is the padded row length in pixels.
func padded(f fimage, ry, rx int, b imgproc.Boundary) (plane []float32, stride int) {
	stride = f.w + 2*rx
	c := f.c
	plane = floats((f.h + 2*ry) * stride * c)
	cols := make([]int, stride)
	for x := range stride {
		cols[x] = b.Index(x-rx, f.w)
	}
	for y := range f.h + 2*ry {
		yy := b.Index(y-ry, f.h)
		if yy < 0 {
			continue
		}
		row := plane[y*stride*c : (y+1)*stride*c]
		src := f.v[yy*f.w*c : (yy+1)*f.w*c]
		copy(row[rx*c:], src) // the inside, then the borders
		for x := 0; x < rx; x++ {
			if xx := cols[x]; xx >= 0 {
				copy(row[x*c:(x+1)*c], src[xx*c:(xx+1)*c])
			}
			if xx := cols[stride-1-x]; xx >= 0 {
				copy(row[(stride-1-x)*c:(stride-x)*c], src[xx*c:(xx+1)*c])
			}
		}
	}
	return plane, stride
}

// correlate1D filters every channel of f along one axis (0: rows/y, 1: columns/x) with kernel k centred on its middle.
func correlate1D(f fimage, k []float32, axis int, b imgproc.Boundary) fimage {
	r := len(k) / 2
	ry, rx := r, 0
	if axis == 1 {
		ry, rx = 0, r
	}
	k2 := make([][]float32, 2*ry+1)
	for i := range k2 {
		k2[i] = make([]float32, 2*rx+1)
	}
	for j, v := range k {
		if axis == 0 {
			k2[j][0] = v
		} else {
			k2[0][j] = v
		}
	}
	return correlate2D(f, k2, b)
}

// correlate2D correlates every channel of f with kernel k (anchored at its centre) under boundary mode b. Rows and
// columns of k that are entirely zero are skipped; the inner loops run along whole interleaved image rows (all
// channels at once), so a shift by j pixels is a shift by j·c values.
func correlate2D(f fimage, k [][]float32, b imgproc.Boundary) fimage {
	r := &correlation{k: k, kh: len(k), kw: len(k[0]), ry: len(k) / 2, rx: len(k[0]) / 2, c: f.c}
	out := newF(f.h, f.w, f.c)
	symmetric := isSymmetric(k)
	r.diagonal = symmetric && r.kh == r.kw && isDiagonalSymmetric(k)
	var stride int
	r.plane, stride = padded(f, r.ry, r.rx, b)
	defer recycle(r.plane)
	r.rowVals = stride * r.c // values per padded row
	if symmetric && r.rx > 0 {
		r.folds = make([][]float32, r.ry+1)
		for i := range r.folds {
			r.folds[i] = make([]float32, r.rowVals)
		}
	}
	for y := range f.h {
		acc := out.v[y*f.w*r.c : (y+1)*f.w*r.c]
		switch {
		case symmetric && r.rx == 0:
			r.columnRow(y, acc)
		case symmetric:
			r.symmetricRow(y, acc)
		default:
			r.generalRow(y, acc)
		}
	}
	return out
}

// correlation is one correlate2D: the kernel, the padded image plane and the row folds of a symmetric kernel.
type correlation struct {
	k                 [][]float32
	kh, kw, ry, rx, c int
	plane             []float32
	rowVals           int
	diagonal          bool
	folds             [][]float32
}

// columnRow accumulates output row y for a symmetric column kernel, the row fold fused into the accumulation.
func (r *correlation) columnRow(y int, acc []float32) {
	n := len(acc)
	for i := 0; i <= r.ry; i++ {
		kv := r.k[i][0]
		if kv == 0 {
			continue
		}
		top := r.plane[(y+i)*r.rowVals:][:n]
		if i < r.ry {
			bottom := r.plane[(y+r.kh-1-i)*r.rowVals:][:n]
			for x, t := range top {
				acc[x] += kv * (t + bottom[x])
			}
		} else {
			for x, t := range top {
				acc[x] += kv * t
			}
		}
	}
}

// symmetricRow accumulates output row y for a kernel symmetric about both axes.
func (r *correlation) symmetricRow(y int, acc []float32) {
	n := len(acc)
	// k[i][j] = k[kh−1−i][j] = k[i][kw−1−j]: add mirrored rows first (fold i holds rows i and kh−1−i), then
	// mirrored columns, so each weight is multiplied once for up to four pixels; a square kernel that is also
	// symmetric about its diagonal (k[i][j] = k[j][i], as the disk) shares one multiply between (i, j) and (j, i):
	// up to eight pixels.
	for i := 0; i <= r.ry; i++ {
		fold := r.folds[i]
		top := r.plane[(y+i)*r.rowVals : (y+i+1)*r.rowVals]
		if i < r.ry {
			bottom := r.plane[(y+r.kh-1-i)*r.rowVals : (y+r.kh-i)*r.rowVals]
			top, bottom := top[:len(fold)], bottom[:len(fold)] // lets the compiler drop bounds checks
			for x := range fold {
				fold[x] = top[x] + bottom[x]
			}
		} else {
			copy(fold, top)
		}
	}
	for i := 0; i <= r.ry; i++ {
		jStart := 0
		if r.diagonal {
			jStart = i
		}
		for j := jStart; j <= r.rx; j++ {
			kv := r.k[i][j]
			if kv == 0 {
				continue
			}
			fi := r.folds[i]
			left := fi[j*r.c : j*r.c+n]
			switch {
			case r.diagonal && i != j && j < r.rx:
				right := fi[(r.kw-1-j)*r.c : (r.kw-1-j)*r.c+n]
				up := r.folds[j][i*r.c : i*r.c+n]
				down := r.folds[j][(r.kw-1-i)*r.c : (r.kw-1-i)*r.c+n]
				right, up, down = right[:len(left)], up[:len(left)], down[:len(left)] // no bounds checks
				for x, l := range left {
					acc[x] += kv * (l + right[x] + up[x] + down[x])
				}
			case r.diagonal && i != j: // j is the centre column: one column of fold i
				up := r.folds[j][i*r.c : i*r.c+n]
				down := r.folds[j][(r.kw-1-i)*r.c : (r.kw-1-i)*r.c+n]
				up, down = up[:len(left)], down[:len(left)]
				for x, l := range left {
					acc[x] += kv * (l + up[x] + down[x])
				}
			case j < r.rx:
				right := fi[(r.kw-1-j)*r.c : (r.kw-1-j)*r.c+n][:len(left)]
				for x, l := range left {
					acc[x] += kv * (l + right[x])
				}
			default:
				for x, l := range left {
					acc[x] += kv * l
				}
			}
		}
	}
}

// generalRow accumulates output row y for any kernel.
func (r *correlation) generalRow(y int, acc []float32) {
	n := len(acc)
	for i := range r.kh {
		row := r.plane[(y+i)*r.rowVals:]
		for j, kv := range r.k[i] {
			if kv == 0 {
				continue
			}
			src := row[j*r.c : j*r.c+n]
			for x, v := range src {
				acc[x] += kv * v
			}
		}
	}
}

// isDiagonalSymmetric reports whether the square kernel k equals its transpose.
func isDiagonalSymmetric(k [][]float32) bool {
	for i := range k {
		for j := range k {
			if k[i][j] != k[j][i] {
				return false
			}
		}
	}
	return true
}

// isSymmetric reports whether k is unchanged by flipping it vertically and horizontally.
func isSymmetric(k [][]float32) bool {
	kh, kw := len(k), len(k[0])
	for i := range kh {
		for j := range kw {
			if k[i][j] != k[kh-1-i][j] || k[i][j] != k[i][kw-1-j] {
				return false
			}
		}
	}
	return true
}

// filter2D is OpenCV's filter2D (correlation, kernel anchored at its centre, BORDER_REFLECT_101) applied to each
// channel.
func filter2D(f fimage, k [][]float32) fimage { return correlate2D(f, k, imgproc.Mirror) }

// bilinearAt samples channel ch of f at (y, x) with order-1 interpolation, as scipy.ndimage.map_coordinates(order=1)
// with the given boundary mode.
func bilinearAt(f fimage, y, x float64, ch int, b imgproc.Boundary) float32 {
	y0f, x0f := math.Floor(y), math.Floor(x)
	dy, dx := float32(y-y0f), float32(x-x0f)
	y0, x0 := int(y0f), int(x0f)
	get := func(yy, xx int) float32 {
		yy, xx = b.Index(yy, f.h), b.Index(xx, f.w)
		if yy < 0 || xx < 0 {
			return 0
		}
		return f.v[(yy*f.w+xx)*f.c+ch]
	}
	return (1-dy)*((1-dx)*get(y0, x0)+dx*get(y0, x0+1)) + dy*((1-dx)*get(y0+1, x0)+dx*get(y0+1, x0+1))
}

// zoom is scipy.ndimage.zoom(order=1) of the spatial axes by factor z: the output has round(n·z) pixels per axis and
// output pixel o samples input coordinate o·(n−1)/(m−1).
func zoom(f fimage, z float64) fimage {
	oh, ow := int(math.Round(float64(f.h)*z)), int(math.Round(float64(f.w)*z))
	out := newF(oh, ow, f.c)
	y0, y1, wy := linearTaps(f.h, oh)
	x0, x1, wx := linearTaps(f.w, ow)
	for y := range oh {
		r0, r1, a := y0[y]*f.w, y1[y]*f.w, wy[y]
		for x := range ow {
			c0, c1, bw := x0[x], x1[x], wx[x]
			for ch := range f.c {
				top := (1-bw)*f.v[(r0+c0)*f.c+ch] + bw*f.v[(r0+c1)*f.c+ch]
				bottom := (1-bw)*f.v[(r1+c0)*f.c+ch] + bw*f.v[(r1+c1)*f.c+ch]
				out.v[(y*ow+x)*f.c+ch] = (1-a)*top + a*bottom
			}
		}
	}
	return out
}

// linearTaps returns, for each of m output positions, the two input indices and the weight of the second for
// scipy's zoom mapping o·(n−1)/(m−1) (edge indices clamped).
func linearTaps(n, m int) (i0, i1 []int, w []float32) {
	i0, i1, w = make([]int, m), make([]int, m), make([]float32, m)
	scale := 0.0
	if m > 1 {
		scale = float64(n-1) / float64(m-1)
	}
	for o := range m {
		c := float64(o) * scale
		fl := math.Floor(c)
		i0[o] = min(int(fl), n-1)
		i1[o] = min(int(fl)+1, n-1)
		w[o] = float32(c - fl)
	}
	return i0, i1, w
}

// crop returns rows [y, y+h) and columns [x, x+w) of f.
func crop(f fimage, y, x, h, w int) fimage {
	out := newF(h, w, f.c)
	for r := range h {
		copy(out.v[r*w*f.c:(r+1)*w*f.c], f.v[((y+r)*f.w+x)*f.c:((y+r)*f.w+x+w)*f.c])
	}
	return out
}

// gaussianFilter is scipy.ndimage.gaussian_filter over the two spatial axes (channels filtered independently): a
// vertical then a horizontal pass of the symmetric 1-D kernel, each over whole interleaved rows (all channels at
// once), multiplying each weight once for the two pixels it applies to.
func gaussianFilter(f fimage, sigma, truncate float64, b imgproc.Boundary) fimage {
	k := gaussianKernel1D(sigma, truncate)
	r := len(k) / 2
	rowLen := f.w * f.c
	mid := newF(f.h, f.w, f.c)
	defer mid.release()
	row := func(y int) []float32 { // row y under the boundary mode; nil for a constant-mode zero row
		if yy := b.Index(y, f.h); yy >= 0 {
			return f.v[yy*rowLen : (yy+1)*rowLen]
		}
		return nil
	}
	for y := range f.h {
		acc := mid.v[y*rowLen : (y+1)*rowLen]
		centre := row(y)
		kc := k[r]
		for i, v := range centre {
			acc[i] = kc * v
		}
		for i := 1; i <= r; i++ {
			up, down, kv := row(y-i), row(y+i), k[r+i]
			switch {
			case up != nil && down != nil:
				up, down = up[:len(acc)], down[:len(acc)]
				for j := range acc {
					acc[j] += kv * (up[j] + down[j])
				}
			case up != nil || down != nil:
				src := up
				if src == nil {
					src = down
				}
				for j, v := range src[:len(acc)] {
					acc[j] += kv * v
				}
			}
		}
	}
	// Horizontal: each row extended by r pixels on both sides, then the same folded sum with a stride of c.
	out := newF(f.h, f.w, f.c)
	c := f.c
	ext := make([]float32, (f.w+2*r)*c)
	for y := range f.h {
		src := mid.v[y*rowLen : (y+1)*rowLen]
		copy(ext[r*c:], src)
		for x := 1; x <= r; x++ {
			left, right := b.Index(-x, f.w), b.Index(f.w-1+x, f.w)
			for ch := range c {
				var lv, rv float32
				if left >= 0 {
					lv = src[left*c+ch]
				}
				if right >= 0 {
					rv = src[right*c+ch]
				}
				ext[(r-x)*c+ch] = lv
				ext[(r+f.w-1+x)*c+ch] = rv
			}
		}
		acc := out.v[y*rowLen : (y+1)*rowLen]
		centre := ext[r*c : r*c+rowLen]
		kc := k[r]
		for j, v := range centre {
			acc[j] = kc * v
		}
		for i := 1; i <= r; i++ {
			kv := k[r+i]
			lft := ext[(r-i)*c : (r-i)*c+rowLen]
			rgt := ext[(r+i)*c : (r+i)*c+rowLen]
			for j := range acc {
				acc[j] += kv * (lft[j] + rgt[j])
			}
		}
	}
	return out
}

// sampleBilinear writes all channels of f sampled at (y, x) into dst: bilinearAt for every channel at once.
func sampleBilinear(dst []float32, f fimage, y, x float64, b imgproc.Boundary) {
	y0f, x0f := math.Floor(y), math.Floor(x)
	dy, dx := float32(y-y0f), float32(x-x0f)
	y0, x0 := int(y0f), int(x0f)
	w := [4]float32{(1 - dy) * (1 - dx), (1 - dy) * dx, dy * (1 - dx), dy * dx}
	if y0 >= 0 && y0+1 < f.h && x0 >= 0 && x0+1 < f.w { // inside: no boundary handling
		i00 := (y0*f.w + x0) * f.c
		i10 := i00 + f.w*f.c
		for ch := range dst {
			dst[ch] = w[0]*f.v[i00+ch] + w[1]*f.v[i00+f.c+ch] + w[2]*f.v[i10+ch] + w[3]*f.v[i10+f.c+ch]
		}
		return
	}
	ya, yb := b.Index(y0, f.h), b.Index(y0+1, f.h)
	xa, xb := b.Index(x0, f.w), b.Index(x0+1, f.w)
	idx := [4]int{-1, -1, -1, -1}
	if ya >= 0 && xa >= 0 {
		idx[0] = (ya*f.w + xa) * f.c
	}
	if ya >= 0 && xb >= 0 {
		idx[1] = (ya*f.w + xb) * f.c
	}
	if yb >= 0 && xa >= 0 {
		idx[2] = (yb*f.w + xa) * f.c
	}
	if yb >= 0 && xb >= 0 {
		idx[3] = (yb*f.w + xb) * f.c
	}
	for ch := range dst {
		var s float32
		for k, i := range idx {
			if i >= 0 {
				s += w[k] * f.v[i+ch]
			}
		}
		dst[ch] = s
	}
}
