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
		if err := inkAtEdge(readPNG(t, f)); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

// The Fig. 3A committed on 2026-11-30, whose y-axis label the canvas's edge cut ("bustness score …"), fails the
// check.
func TestCheckCatchesTheCutLabelOfFig3A(t *testing.T) {
	if err := inkAtEdge(readPNG(t, "testdata/fig3a-2026-11-30.png")); err == nil {
		t.Error("the Fig. 3A with its cut label passed")
	}
}

func readPNG(t *testing.T, file string) *image.RGBA {
	t.Helper()
	r, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img, err := png.Decode(r)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	rgba := image.NewRGBA(img.Bounds())
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			rgba.Set(x, y, img.At(x, y))
		}
	}
	return rgba
}
