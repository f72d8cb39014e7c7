package eval

import (
	"math/rand/v2"
	"testing"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins Section 3's statistics — the clean bootstrap, the robustness scores, the paired bootstrap
// intervals and the regression — on synthetic outcomes to Version.
func TestGolden(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	outcome := func(p float64, n int) Bits {
		b := make(Bits, n)
		for i := range b {
			b[i] = rng.Float64() < p
		}
		return b
	}
	runs := map[string]map[uint64]*Clean{}
	accs := map[string]map[uint64][]Accuracy{}
	for _, mp := range []struct {
		m string
		p float64
	}{{"base", 0.5}, {"better", 0.6}, {"same", 0.5}} {
		m, p := mp.m, mp.p
		runs[m], accs[m] = map[uint64]*Clean{}, map[uint64][]Accuracy{}
		for _, seed := range []uint64{1, 2, 3} {
			c := &Clean{Correct: outcome(p+0.3, 80), Corrupted: map[string]Bits{}}
			c.Images = len(c.Correct)
			for _, name := range corrupt.Names() {
				for sev := 1; sev <= 5; sev++ {
					bits := outcome(p-0.05*float64(sev), 40)
					c.Corrupted[VersionKey(name, sev)] = bits
					accs[m][seed] = append(accs[m][seed], Accuracy{Model: m, Seed: seed, Corruption: name, Severity: sev,
						Images: 40, Accuracy: meanAt(bits, identity(40))})
				}
			}
			runs[m][seed] = c
		}
	}
	values := map[string]float64{}
	mean, sd := Bootstrap(runs["base"][1].Correct, BootstrapResamples, Seed)
	values["bootstrap/mean"], values["bootstrap/sd"] = mean, sd
	_, cats, total, err := Scores(accs["better"], accs["base"], corrupt.PaperNames())
	if err != nil {
		t.Fatal(err)
	}
	values["total"], values["total/sd"], values["noise"] = total.Mean, total.SD, cats["noise"].Mean
	paired, notes := pairedStatistics(runs, "base", []string{"base", "better", "same"},
		[][2]string{{"better", "base"}, {"better", "same"}}, 0.1)
	if len(notes) > 0 {
		t.Fatal(notes)
	}
	for k, iv := range paired {
		values[k+"/low"], values[k+"/high"] = iv.Low, iv.High
	}
	reg, err := OLS([]float64{100, 104, 98, 110, 107}, []string{"a", "b"}, []float64{1, 2, 3, 4, 5},
		[]float64{0.1, 0.4, 0.2, 0.5, 0.3})
	if err != nil {
		t.Fatal(err)
	}
	values["ols/b"], values["ols/p"] = reg.Coef[2], reg.P[2]
	golden.Check(t, Version+"/"+AnalysisVersion, values, 1e-12)
}
