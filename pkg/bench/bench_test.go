package bench

import (
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
)

// TestRunsEveryKind runs each kind of benchmark once at a tiny size: the training step must lower the loss's
// graph, the inference and reconstruction graphs must build and run on the cpu backend.
func TestRunsEveryKind(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Case{{"train", 16, 32, 4, 1, 0}, {"infer", 16, 32, 4, 1, 0}, {"recon", 16, 32, 1, 1, 0}} {
		r, err := Run(b, c)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if r.ImagesPerSec <= 0 || r.SecondsStep <= 0 {
			t.Errorf("%s: %+v", c, r)
		}
	}
	if _, err := Run(b, Case{"dance", 16, 32, 4, 1, 0}); err == nil {
		t.Error("an unknown kind must fail")
	}
}

// BenchmarkTrainStep is one training step (batch 128, SGD) at ÷8, 32×32: go test -bench TrainStep ./pkg/bench/
func BenchmarkTrainStep(b *testing.B) {
	bk, err := backend.New("")
	if err != nil {
		b.Fatal(err)
	}
	r, err := Run(bk, Case{"train", 8, 32, 128, max(1, b.N), 0})
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
	r, err := Run(bk, Case{"recon", 8, 32, 1, max(10, b.N), 0})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(1000*r.SecondsStep, "ms/step")
}
