package bench

import (
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
)

// TestRunsEveryKind runs each kind of benchmark at a tiny size on the cpu backend: the training steps must lower the
// loss of their (repeated) batch, the inference and reconstruction graphs must build and run.
func TestRunsEveryKind(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Case{
		{Kind: "train", WidthDivisor: 16, InputSize: 32, Batch: 8, Steps: 6},
		{Kind: "infer", WidthDivisor: 16, InputSize: 32, Batch: 4, Steps: 1},
		{Kind: "recon", WidthDivisor: 16, InputSize: 32, Batch: 1, Steps: 1},
	} {
		r, err := Run(b, c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if r.ImagesPerSec <= 0 || r.SecondsStep <= 0 {
			t.Errorf("%s: %+v", c, r)
		}
		// (Dropout alone moves the loss by about 10 % between steps: without updates it went 10.9 → 11.9.)
		if c.Kind == "train" && !(r.LastLoss < 0.75*r.FirstLoss) {
			t.Errorf("%s: the loss went from %v to %v in %d steps on one batch", c, r.FirstLoss, r.LastLoss, c.Steps+2)
		}
	}
	if _, err := Run(b, Case{Kind: "dance", WidthDivisor: 16, InputSize: 32, Batch: 4, Steps: 1}); err == nil {
		t.Error("an unknown kind must fail")
	}
}

// BenchmarkTrainStep is one training step (batch 128, SGD) at ÷8, 32×32: go test -bench TrainStep ./pkg/bench/
func BenchmarkTrainStep(b *testing.B) {
	bk, err := backend.New("")
	if err != nil {
		b.Fatal(err)
	}
	r, err := Run(bk, Case{Kind: "train", WidthDivisor: 8, InputSize: 32, Batch: 128, Steps: max(1, b.N)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.ImagesPerSec, "img/s")
	b.ReportMetric(r.PeakRSSMiB, "peakMiB")
}

// BenchmarkReconStep is one reconstruction step (one 32×32 image, ÷8, gradient through conv3_1).
func BenchmarkReconStep(b *testing.B) {
	bk, err := backend.New("")
	if err != nil {
		b.Fatal(err)
	}
	r, err := Run(bk, Case{Kind: "recon", WidthDivisor: 8, InputSize: 32, Batch: 1, Steps: max(10, b.N)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(1000*r.SecondsStep, "ms/step")
}
