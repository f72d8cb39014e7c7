package data

import (
	"math/rand/v2"
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins the paper's split, the stratified subsets, the fit to the input size and the training
// augmentation (on a synthetic set) to Version.
func TestGolden(t *testing.T) {
	classes := []string{"a", "b", "c", "d"}
	mk := func(n, size int) *Set {
		s := &Set{Name: "synthetic", N: n, H: size, W: size, C: 1, Classes: classes, Pix: make([]uint8, n*size*size)}
		for i := range s.Pix {
			s.Pix[i] = uint8((i*13 + i/(size*size)*29) % 256)
		}
		for i := range n {
			s.Labels = append(s.Labels, i%len(classes))
		}
		return s
	}
	train, test := mk(200, 28), mk(40, 28)
	values := map[string]float64{}
	split := PaperSplit(train, test)
	values["split/train"] = golden.Hash(split.Train.Pix)
	values["split/validation"] = golden.Hash(split.Validation.Pix)
	values["stratified"] = golden.Hash(Stratified(split.Train, 5, 3).Pix)
	fit := Fit(split.Train, 32)
	values["fit32"] = golden.Hash(fit.Pix)
	img := append([]uint8(nil), fit.Image(0)...)
	scratch := make([]uint8, len(img))
	Augment(img, 32, 32, rand.New(rand.NewPCG(5, 6)), scratch)
	values["augment"] = golden.Hash(img)
	st := ComputeStats(fit)
	values["stats/mean"], values["stats/std"] = st.Mean, st.Std
	golden.Check(t, Version, values, 0)
}
