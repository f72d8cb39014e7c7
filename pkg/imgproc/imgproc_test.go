package imgproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"math"
	"testing"
)

// The boundary modes map indices as scipy.ndimage does (n = 4: a b c d).
func TestBoundary(t *testing.T) {
	cases := []struct {
		b    Boundary
		want map[int]int
	}{
		{Nearest, map[int]int{-2: 0, -1: 0, 4: 3, 5: 3}},
		{Reflect, map[int]int{-2: 1, -1: 0, 4: 3, 5: 2}},
		{Mirror, map[int]int{-2: 2, -1: 1, 4: 2, 5: 1}},
		{Constant, map[int]int{-1: -1, 4: -1}},
	}
	for _, c := range cases {
		for i, want := range c.want {
			if got := c.b.Index(i, 4); got != want {
				t.Errorf("mode %d: index %d → %d, want %d", c.b, i, got, want)
			}
		}
		if got := c.b.Index(2, 4); got != 2 {
			t.Errorf("mode %d: inside index 2 → %d", c.b, got)
		}
	}
}

// GaussianFilter equals the direct double sum over the 2-D kernel.
func TestGaussianFilter(t *testing.T) {
	h, w := 7, 9
	img := make([]float64, h*w)
	for i := range img {
		img[i] = math.Sin(float64(i) * 0.7)
	}
	for _, b := range []Boundary{Nearest, Reflect, Mirror, Constant} {
		k := GaussianKernel(1.3, 3)
		r := len(k) / 2
		got := GaussianFilter(img, h, w, 1.3, 3, b)
		for y := range h {
			for x := range w {
				var want float64
				for i := -r; i <= r; i++ {
					for j := -r; j <= r; j++ {
						yy, xx := b.Index(y+i, h), b.Index(x+j, w)
						if yy >= 0 && xx >= 0 {
							want += k[i+r] * k[j+r] * img[yy*w+xx]
						}
					}
				}
				if math.Abs(got[y*w+x]-want) > 1e-12 {
					t.Fatalf("mode %d at (%d, %d): %v, want %v", b, y, x, got[y*w+x], want)
				}
			}
		}
	}
}

// A PNG whose header claims more pixels than MaxPixels is refused before it is decoded; a small one decodes; garbage
// is an error.
func TestDecodeBounds(t *testing.T) {
	var small bytes.Buffer
	if err := png.Encode(&small, image.NewGray(image.Rect(0, 0, 3, 2))); err != nil {
		t.Fatal(err)
	}
	img, err := Decode(small.Bytes())
	if err != nil || img.Bounds().Dx() != 3 {
		t.Fatalf("small PNG: %v, %v", img, err)
	}
	// Rewrite the IHDR width and height to 60000 × 60000, with the chunk's CRC: a valid header over a tiny body (the
	// size check must come before any decoding).
	huge := bytes.Clone(small.Bytes())
	for _, off := range []int{16, 20} {
		binary.BigEndian.PutUint32(huge[off:], 60000)
	}
	binary.BigEndian.PutUint32(huge[29:], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := Decode(huge); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a PNG claiming 60000×60000: %v, want ErrTooLarge", err)
	}
	if _, err := Decode([]byte("not an image")); err == nil {
		t.Error("garbage decoded")
	}
}

// FuzzDecode: no input makes the decoder panic or accept more pixels than MaxPixels.
func FuzzDecode(f *testing.F) {
	var small bytes.Buffer
	png.Encode(&small, image.NewGray(image.Rect(0, 0, 3, 2)))
	f.Add(small.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Add([]byte("\xff\xd8\xff\xe0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Decode(b)
		if err == nil && img.Bounds().Dx()*img.Bounds().Dy() > MaxPixels {
			t.Errorf("decoded %v", img.Bounds())
		}
	})
}
