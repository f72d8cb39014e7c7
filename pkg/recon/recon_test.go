package recon

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/fft"
	"github.com/robustvision/cotrain/pkg/imgproc"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/train"
)

func randomModel(t testing.TB, div int) *train.Model {
	t.Helper()
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	m, err := train.NewModel(b, train.ModelInfo{Model: models.VGGConfig{WidthDivisor: div, InputSize: 32, InChannels: 3, NumClasses: 10}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randomImage(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := make([]float32, n)
	for i := range img {
		img[i] = float32(rng.NormFloat64())
	}
	return img
}

// The norm constraint holds after every step (ball and sphere), and matching the activations lowers the loss, for
// both of the paper's optimisers and for a deeper layer.
func TestReconstructionConstraintAndLoss(t *testing.T) {
	m := randomModel(t, 32)
	target := randomImage(2, 32*32)
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"adam ball", Config{Steps: 40, Optimizer: Adam, LearningRate: 0.05, BlurSigma: 1}},
		{"sgd ball", Config{Steps: 40, Optimizer: SGD, LearningRate: 5, BlurSigma: 1}},
		{"sgd sphere conv2_1", Config{Layer: "conv2_1", Steps: 40, Optimizer: SGD, LearningRate: 5, Sphere: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			radii := []float64{5, 30}
			var problems []Problem
			for _, r := range radii {
				problems = append(problems, Problem{Target: target, Norm: r})
			}
			res, err := Reconstruct(m, problems, c.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range radii {
				if res.MaxNorm[i] > r*(1+1e-5) {
					t.Errorf("radius %v: norm reached %v", r, res.MaxNorm[i])
				}
				if c.cfg.Sphere && math.Abs(res.FinalNorm[i]-r) > 1e-4*r {
					t.Errorf("sphere radius %v: final norm %v", r, res.FinalNorm[i])
				}
				var sq float64
				for _, v := range res.Images[i] {
					sq += float64(v) * float64(v)
				}
				if got := math.Sqrt(3 * sq); math.Abs(got-res.FinalNorm[i]) > 1e-3*r {
					t.Errorf("radius %v: reported norm %v, image norm %v", r, res.FinalNorm[i], got)
				}
				if !(res.Loss[i] < res.Initial[i]) {
					t.Errorf("radius %v: loss %v → %v did not fall", r, res.Initial[i], res.Loss[i])
				}
			}
			t.Logf("losses %v → %v, norms %v", res.Initial, res.Loss, res.FinalNorm)
		})
	}
	if _, err := Reconstruct(m, []Problem{{Target: target, Norm: 5}}, Config{Layer: "fc9", Steps: 1, Optimizer: SGD, LearningRate: 1}, nil); err == nil {
		t.Error("an unknown layer was accepted")
	}
}

// The spectral control has the reconstruction's amplitude spectrum and the original's phase.
func TestSpectralControl(t *testing.T) {
	const h, w = 16, 12
	rng := rand.New(rand.NewPCG(5, 6))
	recon, orig := make([]float64, h*w), make([]float64, h*w)
	for i := range recon {
		recon[i], orig[i] = rng.NormFloat64(), rng.Float64()
	}
	ctl, err := SpectralControl(recon, orig, h, w)
	if err != nil {
		t.Fatal(err)
	}
	fc, fr, fo := fft.FFT2(ctl, h, w), fft.FFT2(recon, h, w), fft.FFT2(orig, h, w)
	for i := range fc {
		if math.Abs(cmplx.Abs(fc[i])-cmplx.Abs(fr[i])) > 1e-9 {
			t.Fatalf("coefficient %d: amplitude %v, reconstruction's %v", i, cmplx.Abs(fc[i]), cmplx.Abs(fr[i]))
		}
		if cmplx.Abs(fc[i]) > 1e-6 && cmplx.Abs(fo[i]) > 1e-6 {
			d := math.Remainder(cmplx.Phase(fc[i])-cmplx.Phase(fo[i]), 2*math.Pi)
			if math.Abs(d) > 1e-6 {
				t.Fatalf("coefficient %d: phase %v, original's %v", i, cmplx.Phase(fc[i]), cmplx.Phase(fo[i]))
			}
		}
	}
	if math.Abs(Norm(ctl)-Norm(recon)) > 1e-9 {
		t.Errorf("Parseval: control norm %v, reconstruction %v", Norm(ctl), Norm(recon))
	}
}

// The blur matrix is a normalised 9-tap Gaussian with reflect padding.
func TestBlurMatrix(t *testing.T) {
	b := blurMatrix(8, 1)
	for i, row := range b {
		var s float64
		for _, v := range row {
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %v", i, s)
		}
	}
	// torch's "reflect" padding: … 2 1 | 0 1 … 7 | 6 5 …
	for _, c := range [][3]int{{-1, 1}, {8, 6}, {-4, 4}} {
		if got := imgproc.Mirror.Index(c[0], 8); got != c[1] {
			t.Errorf("padding index %d → %d, torch's reflect: %d", c[0], got, c[1])
		}
	}
	// An interior row is the 9-tap Gaussian around its pixel.
	taps, big := imgproc.GaussianKernel(1, 4), blurMatrix(12, 1)
	for j := range 12 {
		want := 0.0
		if d := j - 5; d >= -4 && d <= 4 {
			want = taps[d+4]
		}
		if math.Abs(float64(big[5][j])-want) > 1e-7 {
			t.Errorf("row 5, column %d: %v, want %v", j, big[5][j], want)
		}
	}
}

// One reconstruction at the mini scale (widths ÷16, 32×32): one image, one norm, 1000 steps.
func BenchmarkReconstruct1000(b *testing.B) {
	m := randomModel(b, 16)
	target := randomImage(2, 32*32)
	for b.Loop() {
		res, err := Reconstruct(m, []Problem{{Target: target, Norm: 15}}, Config{Steps: 1000, Optimizer: SGD, LearningRate: 5, BlurSigma: 1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(res.Seconds, "s/1000-steps")
	}
}

// The toy problem's closed-form optimum (H + γI)⁻¹Hx₀ is what projected gradient descent finds, satisfies the
// constraint with equality, and turns towards the high-curvature direction as the radius shrinks.
func TestToyOptimumClosedForm(t *testing.T) {
	q := Fig4Problem()
	vals, vecs, err := q.Eigen()
	if err != nil || math.Abs(vals[0]-1) > 1e-9 || math.Abs(vals[1]-10) > 1e-9 {
		t.Fatalf("eigenvalues %v, %v", vals, err)
	}
	for _, r := range []float64{0.5, 1, 2, 3} {
		x, gamma, err := q.Optimum(r)
		if err != nil {
			t.Fatal(err)
		}
		pg := q.ProjectedGradient(r, 0.05, 20000)
		if math.Hypot(x[0]-pg[0], x[1]-pg[1]) > 1e-6 {
			t.Errorf("r = %v: closed form %v, projected gradient %v", r, x, pg)
		}
		if math.Abs(math.Hypot(x[0], x[1])-r) > 1e-9 || gamma <= 0 {
			t.Errorf("r = %v: ||x|| = %v, γ = %v", r, math.Hypot(x[0], x[1]), gamma)
		}
	}
	// The share of the optimum along the high-curvature eigenvector grows as the radius shrinks.
	share := func(r float64) float64 {
		x, _, _ := q.Optimum(r)
		return math.Abs(x[0]*vecs[1][0]+x[1]*vecs[1][1]) / math.Hypot(x[0], x[1])
	}
	if !(share(0.5) > share(2)) {
		t.Errorf("alignment with the stiff direction: %v at r = 0.5, %v at r = 2", share(0.5), share(2))
	}
	if x, g, _ := q.Optimum(10); x != q.X0 || g != 0 {
		t.Error("an inactive constraint moved the optimum")
	}
}
