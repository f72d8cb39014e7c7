package corrupt

import (
	"math"
	"math/rand/v2"
	"sync"

	"github.com/robustvision/cotrain/pkg/imgproc"
)

// Procedural frost.
//
// imagecorruptions overlays one of five photographs of frost on glass (frost1.png … frost5.jpg; a sixth is never
// drawn). They cannot be shipped here, so five textures are generated instead, once, from fixed seeds: a dim,
// low-frequency haze (a plasma fractal, as fog uses) for the frosted glass, and on it ice crystals grown as
// hexagonal dendrites — straight needles that branch at ±60° with shorter side needles, three generations deep —
// drawn anti-aliased, sharpened by a narrow blur and given a soft glow, with a slight blue tint.
//
// Statistics of the generated textures (256×256, grey levels of 0…255, measured by TestFrostTextureStatistics,
// which prints them): mean brightness 163–168, standard deviation 37–41, and a radially averaged power spectrum that
// falls as f^−β with β = 2.10–2.17. The reference photographs could not be measured here; what is known of them:
// ImageNet-C's frost brightens an image by about +60 to +80 grey levels at every severity (bright frosted glass), and
// photographs, like natural images, have spectral slopes near 2 (van der Schaaf & van Hateren 1996: 1.88–2.1). The
// textures are set to match: on the project's 64×64 photo patches frost raises the mean by 60–73 grey levels at
// severities 1–5 with the imagenet-c weights (TestFrostBrightens). Since the frost weight b grows while the image
// weight a shrinks, the shift is about the same at every severity, and so is the PSNR (11–12 dB): severity adds
// texture, not distance, as with the reference's bright photographs. The blend weights (a, b) of each severity are
// the reference's.

const frostSize = 256

type texture struct {
	h, w int
	f    fimage // RGB on the 0…255 scale
}

var (
	frostOnce sync.Once
	frostTex  [5]texture
)

func frostTextures() [5]texture {
	frostOnce.Do(func() {
		for i := range frostTex {
			frostTex[i] = generateFrost(uint64(1000+i), frostSize)
		}
	})
	return frostTex
}

func generateFrost(seed uint64, size int) texture {
	rng := rand.New(rand.NewPCG(seed, 0x6672_6f73_74)) // "frost"
	haze := plasmaFractal(size, 2.2, rng)
	acc := newF(size, size, 1)
	splat := func(y, x, v float64) {
		y0, x0 := math.Floor(y), math.Floor(x)
		dy, dx := y-y0, x-x0
		for _, o := range [4][3]float64{{0, 0, (1 - dy) * (1 - dx)}, {0, 1, (1 - dy) * dx}, {1, 0, dy * (1 - dx)}, {1, 1, dy * dx}} {
			yy := (int(y0+o[0])%size + size) % size // the texture wraps around
			xx := (int(x0+o[1])%size + size) % size
			acc.v[yy*size+xx] += float32(v * o[2])
		}
	}
	var grow func(y, x, angle, length, intensity float64, depth int)
	grow = func(y, x, angle, length, intensity float64, depth int) {
		sy, sx := math.Sin(angle), math.Cos(angle)
		nextBranch := 3 + rng.Float64()*5
		for t := 0.0; t < length; t += 0.5 {
			// Needles thin out towards their tips.
			splat(y+t*sy, x+t*sx, intensity*(1-0.6*t/length)*0.5)
			if depth < 3 && t >= nextBranch {
				side := math.Pi / 3
				if rng.IntN(2) == 0 {
					side = -side
				}
				grow(y+t*sy, x+t*sx, angle+side+0.1*rng.NormFloat64(), (length-t)*(0.25+0.35*rng.Float64()),
					intensity*0.8, depth+1)
				nextBranch = t + 3 + rng.Float64()*6
			}
		}
	}
	for range 70 {
		grow(rng.Float64()*float64(size), rng.Float64()*float64(size), rng.Float64()*2*math.Pi,
			15+rng.Float64()*60, 0.5+0.5*rng.Float64(), 0)
	}
	sharp := gaussianFilter(acc, 0.6, 4, imgproc.Reflect)
	glow := gaussianFilter(acc, 2.5, 4, imgproc.Reflect)
	out := newF(size, size, 3)
	tint := [3]float64{0.88, 0.94, 1.0}
	for i := range size * size {
		v := 0.47 + 0.2*haze[i] + 1.5*float64(sharp.v[i]) + 0.7*float64(glow.v[i]) + 0.02*rng.NormFloat64()
		v = math.Min(math.Max(v, 0), 1)
		for ch := range 3 {
			out.v[3*i+ch] = float32(255 * v * tint[ch])
		}
	}
	return texture{h: size, w: size, f: out}
}

// scaled resizes the texture by factor s with bilinear interpolation.
func (t texture) scaled(s float64) texture {
	h, w := max(1, int(math.Round(float64(t.h)*s))), max(1, int(math.Round(float64(t.w)*s)))
	out := newF(h, w, 3)
	for y := range h {
		for x := range w {
			sy, sx := (float64(y)+0.5)/s-0.5, (float64(x)+0.5)/s-0.5
			for ch := range 3 {
				out.v[(y*w+x)*3+ch] = bilinearAt(t.f, sy, sx, ch, imgproc.Nearest)
			}
		}
	}
	return texture{h: h, w: w, f: out}
}
