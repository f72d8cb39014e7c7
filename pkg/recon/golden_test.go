package recon

import (
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins the constrained reconstruction (both of the paper's optimisers, 40 steps) and the spectral
// control to Version (within a relative 1e-4: BLAS kernels' last bits depend on the machine).
func TestGolden(t *testing.T) {
	m := randomModel(t, 32)
	target := randomImage(5, 32*32)
	values := map[string]float64{}
	for _, multiTask := range []bool{false, true} {
		cfg := PaperConfig(multiTask)
		cfg.Steps = 40
		res, err := Reconstruct(m, []Problem{{Target: target, Norm: 7.5}}, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		values[string(cfg.Optimizer)+"/loss"] = res.Loss[0]
		values[string(cfg.Optimizer)+"/norm"] = res.FinalNorm[0]
	}
	rec, tgt := make([]float64, 32*32), make([]float64, 32*32)
	for i := range rec {
		rec[i], tgt[i] = float64(randomImage(6, 32*32)[i]), float64(target[i])
	}
	ctl, err := SpectralControl(rec, tgt, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	values["spectral/0"], values["spectral/100"] = ctl[0], ctl[100]
	golden.Check(t, Version, values, 1e-4)
}
