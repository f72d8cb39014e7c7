package corrupt

import (
	"math"
	"math/rand/v2"
)

var (
	snowC = map[Preset][5][7]float64{ // loc, scale, zoom, threshold, blur radius, blur sigma, blend
		PresetImageNetC: {
			{.1, .3, 3, .5, 10, 4, .8}, {.2, .3, 2, .5, 12, 4, .7}, {.55, .3, 4, .9, 12, 8, .7},
			{.55, .3, 4.5, .85, 12, 8, .65}, {.55, .3, 2.5, .85, 12, 12, .55}},
		PresetTinyImageNetC: {
			{.1, .2, 1, .6, 8, 3, .8}, {.1, .2, 1, .5, 10, 4, .8}, {.15, .3, 1.75, .55, 10, 4, .7},
			{.25, .3, 2.25, .6, 12, 6, .65}, {.3, .3, 1.25, .65, 14, 12, .6}},
	}
	frostC = map[Preset][5][2]float64{ // image weight, frost weight
		PresetImageNetC:     {{1, .4}, {.8, .6}, {.7, .7}, {.65, .7}, {.6, .75}},
		PresetTinyImageNetC: {{1, .3}, {.9, .4}, {.8, .45}, {.75, .5}, {.7, .55}},
	}
	fogC = map[Preset][5][2]float64{ // amount, wibble decay
		PresetImageNetC:     {{1.5, 2}, {2, 2}, {2.5, 1.7}, {2.5, 1.5}, {3, 1.4}},
		PresetTinyImageNetC: {{.4, 3}, {.7, 3}, {1, 2.5}, {1.5, 2}, {2, 1.75}},
	}
	brightnessC = [5]float64{.1, .2, .3, .4, .5} // both presets
)

// snow draws a snow layer (Gaussian noise, zoomed, thresholded, motion-blurred at an angle in −135…−45°, rounded to
// 8-bit levels), whitens the image towards 1.5·gray+0.5, and adds the layer and its 180° rotation.
func snow(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := snowC[p][sev-1]
	x := toFloat(img, 255)
	layer := newF(x.h, x.w, 1)
	for i := range layer.v {
		layer.v[i] = float32(c[0] + c[1]*rng.NormFloat64())
	}
	layer = clippedZoom(layer, c[2], false)
	for i, v := range layer.v {
		if v < float32(c[3]) {
			v = 0
		}
		layer.v[i] = min(max(v, 0), 1)
	}
	angle := rng.Float64()*90 - 135
	layer = motionBlurField(layer, c[4], c[5], angle)
	for i, v := range layer.v {
		layer.v[i] = float32(math.RoundToEven(float64(v)*255)) / 255
		if layer.v[i] > 1 { // uint8 wrap-around of the reference cannot happen: the kernel sums to at most 1
			layer.v[i] = 1
		}
	}
	blend := float32(c[6])
	n := x.h * x.w
	for i := range n {
		var gray float32
		if x.c == 3 {
			gray = 0.299*x.v[3*i] + 0.587*x.v[3*i+1] + 0.114*x.v[3*i+2]
		} else { // the same arithmetic as for an RGB replica, so that the grey fast path is exact
			gray = 0.299*x.v[i] + 0.587*x.v[i] + 0.114*x.v[i]
		}
		bright := gray*1.5 + 0.5
		s := layer.v[i] + layer.v[n-1-i] // the layer plus its rotation by 180°
		for ch := range x.c {
			v := x.v[x.c*i+ch]
			x.v[x.c*i+ch] = blend*v + (1-blend)*max(v, bright) + s
		}
	}
	return x.toImage(255)
}

// frost blends the image with a random crop of one of five frost textures: clip(a·x + b·frost) on the 0…255 scale.
// The textures are procedural (frost.go) because the reference's photographs cannot be shipped.
func frost(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := frostC[p][sev-1]
	tex := frostTextures()[rng.IntN(5)] // the reference draws randint(5): its sixth texture is never used
	if p == PresetTinyImageNetC {
		tex = tex.scaled(0.3) // make_tinyimagenet_c.py: cv2.resize(frost, (0, 0), fx=0.3, fy=0.3)
	}
	if tex.h < img.H || tex.w < img.W { // imagecorruptions rescales the texture to cover the image, ×1.1
		s := 1.1 * math.Max(float64(img.H)/float64(tex.h), float64(img.W)/float64(tex.w))
		tex = tex.scaled(s)
	}
	y0 := rng.IntN(tex.h - img.H + 1)
	x0 := rng.IntN(tex.w - img.W + 1)
	x := toFloat(img, 1)
	a, b := float32(c[0]), float32(c[1])
	for y := range img.H {
		for xx := range img.W {
			for ch := range 3 {
				i := (y*img.W+xx)*3 + ch
				x.v[i] = a*x.v[i] + b*tex.f.v[((y0+y)*tex.w+x0+xx)*3+ch]
			}
		}
	}
	return x.toImage(1)
}

// fog adds a plasma fractal and rescales by max/(max + amount).
func fog(img Image, sev int, p Preset, rng *rand.Rand) Image {
	c := fogC[p][sev-1]
	x := toFloat(img, 255)
	var maxVal float32
	for _, v := range x.v {
		maxVal = max(maxVal, v)
	}
	size := nextPow2(max(img.H, img.W, img.C))
	plasma := plasmaFractal(size, c[1], rng)
	a := float32(c[0])
	for y := range x.h {
		for xx := range x.w {
			f := a * float32(plasma[y*size+xx])
			for ch := range x.c {
				i := (y*x.w+xx)*x.c + ch
				x.v[i] = (x.v[i] + f) * maxVal / (maxVal + a)
			}
		}
	}
	return x.toImage(255)
}

// brightness adds c to the HSV value channel. With hue and saturation unchanged, HSV→RGB reduces to scaling the
// RGB triple by V'/V (or setting all three to V' for black), which is what this computes.
func brightness(img Image, sev int, _ Preset, _ *rand.Rand) Image {
	c := brightnessC[sev-1]
	x := toFloat(img, 255)
	if x.c == 1 { // a grey pixel: V is the value itself and it stays grey
		for i, v := range x.v {
			x.v[i] = float32(math.Min(float64(v)+c, 1))
		}
		return x.toImage(255)
	}
	for i := 0; i < len(x.v); i += 3 {
		r, g, b := float64(x.v[i]), float64(x.v[i+1]), float64(x.v[i+2])
		v := math.Max(r, math.Max(g, b))
		nv := math.Min(v+c, 1)
		if v == 0 {
			x.v[i], x.v[i+1], x.v[i+2] = float32(nv), float32(nv), float32(nv)
			continue
		}
		s := nv / v
		x.v[i], x.v[i+1], x.v[i+2] = float32(r*s), float32(g*s), float32(b*s)
	}
	return x.toImage(255)
}

// plasmaFractal is imagecorruptions' diamond-square plasma fractal on a mapsize×mapsize grid (mapsize a power of 2),
// normalised to [0, 1]. Note the reference's wibble·U(−wibble, wibble) perturbation, kept as is.
func plasmaFractal(mapsize int, wibbleDecay float64, rng *rand.Rand) []float64 {
	m := make([]float64, mapsize*mapsize)
	at := func(y, x int) *float64 {
		y = ((y % mapsize) + mapsize) % mapsize
		x = ((x % mapsize) + mapsize) % mapsize
		return &m[y*mapsize+x]
	}
	wibble := 100.0
	wibbled := func(v float64) float64 { return v/4 + wibble*(rng.Float64()*2*wibble-wibble) }
	for step := mapsize; step >= 2; step /= 2 {
		half := step / 2
		// Squares: centre of each square = mean of its four corners (with wrap-around).
		for y := 0; y < mapsize; y += step {
			for x := 0; x < mapsize; x += step {
				s := *at(y, x) + *at(y+step, x) + *at(y, x+step) + *at(y+step, x+step)
				*at(y+half, x+half) = wibbled(s)
			}
		}
		// Diamonds, first those on the horizontal edges (rows y, columns x+half) …
		for y := 0; y < mapsize; y += step {
			for x := 0; x < mapsize; x += step {
				s := *at(y+half, x+half) + *at(y-half, x+half) + *at(y, x) + *at(y, x+step)
				*at(y, x+half) = wibbled(s)
			}
		}
		// … then those on the vertical edges (rows y+half, columns x).
		for y := 0; y < mapsize; y += step {
			for x := 0; x < mapsize; x += step {
				s := *at(y+half, x+half) + *at(y+half, x-half) + *at(y, x) + *at(y+step, x)
				*at(y+half, x) = wibbled(s)
			}
		}
		wibble /= wibbleDecay
	}
	lo, hi := m[0], m[0]
	for _, v := range m {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for i := range m {
		m[i] = (m[i] - lo) / (hi - lo)
	}
	return m
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}
