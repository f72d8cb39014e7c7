// Package imgproc holds the image primitives the packages share: bounded image decoding, scipy.ndimage's boundary
// modes, and the Gaussian kernel and filter.
//
// The data loaders, the corruptions of Section 3, and the saliency model and reconstructions of Section 4 use them;
// image files are decoded with their size checked before any pixel is allocated.
package imgproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for image.Decode
	_ "image/png"
	"io"
	"math"
	"os"

	"golang.org/x/image/webp"
)

// MaxPixels bounds the images DecodeFile accepts: a header claiming more is refused before anything is allocated
// (a 10 MB PNG can claim 60,000 × 60,000 pixels, 14 GB decoded). The photographs this project uses have under a
// million pixels.
const MaxPixels = 64 << 20

// ErrTooLarge is returned for images whose header claims more than MaxPixels pixels.
var ErrTooLarge = errors.New("image too large")

// MaxFileBytes bounds the image files ReadFile reads: larger files, and files that are not regular files (a
// device such as /dev/zero, a pipe), are refused before they are read.
const MaxFileBytes = 256 << 20

// ReadFile reads an image file of at most MaxFileBytes; the error names the file and the problem.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s, not a regular file: an image file is expected", path, fileKind(st.Mode()))
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d an image file may have", path, st.Size(), MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: more than the %d bytes an image file may have", path, MaxFileBytes)
	}
	return data, nil
}

// fileKind names what a path that is not a regular file is.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&os.ModeDevice != 0 || m&os.ModeCharDevice != 0:
		return "a device"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// DecodeFile decodes a JPEG, PNG or WebP file (ReadFile's bounds); the error names the file and the problem.
func DecodeFile(path string) (image.Image, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode decodes a JPEG, PNG or WebP image after checking the size its header claims.
func Decode(data []byte) (image.Image, error) {
	isWebP := len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
	var cfg image.Config
	var err error
	if isWebP {
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, _, err = image.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable JPEG/PNG/WebP image (corrupt or truncated): %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return nil, fmt.Errorf("%w: the header claims %d × %d pixels (at most %d in all)", ErrTooLarge, cfg.Width,
			cfg.Height, MaxPixels)
	}
	var img image.Image
	if isWebP {
		img, err = webp.Decode(bytes.NewReader(data))
	} else {
		img, _, err = image.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("not a readable JPEG/PNG/WebP image (corrupt or truncated): %w", err)
	}
	return img, nil
}

// Boundary says how an image is extended beyond its edges; the modes are named as in scipy.ndimage.
type Boundary int

// The boundary modes.
const (
	Nearest  Boundary = iota // a a a | a b c d | d d d
	Reflect                  // b a | a b c d | d c   (half-sample symmetric; scipy "reflect")
	Mirror                   // c b | a b c d | c b   (whole-sample symmetric; scipy "mirror", OpenCV REFLECT_101, torch "reflect")
	Constant                 // 0 0 | a b c d | 0 0
)

// Index maps i into [0, n) under the boundary mode; −1 means "outside, use 0" (Constant).
func (b Boundary) Index(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	switch b {
	case Nearest:
		if i < 0 {
			return 0
		}
		return n - 1
	case Reflect:
		if n == 1 {
			return 0
		}
		period := 2 * n
		i %= period
		if i < 0 {
			i += period
		}
		if i >= n {
			i = period - 1 - i
		}
		return i
	case Mirror:
		if n == 1 {
			return 0
		}
		period := 2*n - 2
		i %= period
		if i < 0 {
			i += period
		}
		if i >= n {
			i = period - i
		}
		return i
	default:
		return -1
	}
}

// GaussianKernel returns scipy.ndimage's normalised Gaussian weights for sigma and truncate: 2·radius + 1 taps with
// radius = int(truncate·σ + 0.5).
func GaussianKernel(sigma, truncate float64) []float64 {
	radius := int(truncate*sigma + 0.5)
	k := make([]float64, 2*radius+1)
	var sum float64
	for i := range k {
		x := float64(i - radius)
		k[i] = math.Exp(-0.5 * x * x / (sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}

// GaussianFilter is scipy.ndimage.gaussian_filter of an h×w image: the 1-D kernel along rows, then along columns,
// under the boundary mode.
func GaussianFilter(img []float64, h, w int, sigma, truncate float64, b Boundary) []float64 {
	k := GaussianKernel(sigma, truncate)
	r := len(k) / 2
	tmp, out := make([]float64, h*w), make([]float64, h*w)
	for y := range h {
		for x := range w {
			var s float64
			for i, kv := range k {
				if xx := b.Index(x+i-r, w); xx >= 0 {
					s += kv * img[y*w+xx]
				}
			}
			tmp[y*w+x] = s
		}
	}
	for y := range h {
		for x := range w {
			var s float64
			for i, kv := range k {
				if yy := b.Index(y+i-r, h); yy >= 0 {
					s += kv * tmp[yy*w+x]
				}
			}
			out[y*w+x] = s
		}
	}
	return out
}
