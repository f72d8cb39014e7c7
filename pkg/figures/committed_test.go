package figures

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// No committed figure (figures/ and figures/gpu/) has ink within EdgeMargin pixels of its canvas's edge: a label or
// a title cut by the edge (the check every figure passes before it is written).
func TestCommittedFiguresHaveMargins(t *testing.T) {
	files, _ := filepath.Glob("../../figures/*.png")
	more, _ := filepath.Glob("../../figures/gpu/*.png")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("%d committed figures", len(files))
	}
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rgba := image.NewRGBA(img.Bounds())
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				rgba.Set(x, y, img.At(x, y))
			}
		}
		if err := inkAtEdge(rgba); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}
