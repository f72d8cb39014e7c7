package neural

import "testing"

// A stimulus shown at twice (half) the resolution covers four times (a quarter of) the pixels, about the same centre;
// the trials are untouched and a shrunk stimulus sits on its border's grey.
func TestAtResolution(t *testing.T) {
	const size, side = 32, 8
	img := make([]uint8, size*size)
	for y := range size {
		for x := range size {
			img[y*size+x] = 40 // background
			if y >= (size-side)/2 && y < (size+side)/2 && x >= (size-side)/2 && x < (size+side)/2 {
				img[y*size+x] = 240
			}
		}
	}
	d := &Dataset{Dir: "test", Meta: Meta{PPD: 14}, Images: img, N: 1, H: size, W: size,
		Sessions: []Session{{ID: "s", Neurons: []int{0}}}}
	bright := func(pix []uint8) (area float64) {
		for _, v := range pix {
			area += float64(v-40) / 200 // the square's area in pixels, partial pixels counted by their grey level
		}
		return area
	}
	for _, c := range []struct {
		ppd, area float64
	}{{14, side * side}, {28, 4 * side * side}, {7, side * side / 4}} {
		r, err := d.AtResolution(c.ppd)
		if err != nil {
			t.Fatal(err)
		}
		if r.Meta.PPD != c.ppd || len(r.Sessions) != 1 || d.Meta.PPD != 14 {
			t.Errorf("%v ppd: meta %v, %d sessions; the original's ppd is now %v", c.ppd, r.Meta.PPD, len(r.Sessions), d.Meta.PPD)
		}
		if got := bright(r.Images); got < 0.85*c.area || got > 1.15*c.area {
			t.Errorf("%v ppd: the square covers %.1f px, want about %.0f", c.ppd, got, c.area)
		}
		if centre, corner := r.Images[size/2*size+size/2], r.Images[0]; centre < 200 || corner != 40 {
			t.Errorf("%v ppd: centre %d (want the square's 240), corner %d (want the background 40)", c.ppd, centre, corner)
		}
	}
	if img[0] != 40 || img[size/2*size+size/2] != 240 {
		t.Error("AtResolution changed the original images")
	}
	for _, bad := range []float64{0, -3, 14 * 17} {
		if _, err := d.AtResolution(bad); err == nil {
			t.Errorf("AtResolution(%v) accepted", bad)
		}
	}
}
