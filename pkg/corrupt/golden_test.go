package corrupt

import (
	"fmt"
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins the corrupted images (every corruption at severities 1, 3 and 5, both presets, on a fixed 32×32
// grey and RGB image) to Version.
func TestGolden(t *testing.T) {
	values := map[string]float64{}
	for _, c := range []int{1, 3} {
		img := Image{H: 32, W: 32, C: c, Pix: make([]uint8, 32*32*c)}
		for i := range img.Pix {
			img.Pix[i] = uint8((i*37 + i/32*11) % 251)
		}
		for _, name := range Names() {
			for _, p := range Presets() {
				for _, sev := range []int{1, 3, 5} {
					out, err := Apply(img, name, sev, 7, p)
					if err != nil {
						t.Fatal(err)
					}
					values[fmt.Sprintf("%s/%s/%d/c%d", name, p, sev, c)] = golden.Hash(out.Pix)
				}
			}
		}
	}
	golden.Check(t, Version, values, 0)
}
