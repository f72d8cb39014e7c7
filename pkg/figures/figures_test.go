package figures

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/train"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

func TestArchitectureRendersPNG(t *testing.T) {
	cfg := models.VGGConfig{WidthDivisor: 8, InputSize: 32, InChannels: 3, NumClasses: 10}
	fig, err := Architecture(cfg, 458, "simulated V1")
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Errorf("figure is %v, want a readable size", b)
	}
	path := filepath.Join(t.TempDir(), "arch.png")
	if err := fig.Save(path); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(saved, data) {
		t.Errorf("saved file differs from PNG(): %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("Save left temporary files behind: %v", entries)
	}
}

func TestArchitectureRejectsBadConfig(t *testing.T) {
	if _, err := Architecture(models.VGGConfig{WidthDivisor: 3, InputSize: 32, InChannels: 3, NumClasses: 10}, 0, ""); err == nil {
		t.Error("want an error for width divisor 3")
	}
	if err := (Figure{}).Save("noext"); err == nil {
		t.Error("want an error for a file name without extension")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{7: "7", 1000: "1,000", 39737352: "39,737,352", 100: "100"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestNeuralFiguresRender(t *testing.T) {
	neurons := v1sim.Population(v1sim.DefaultPopulation, 6, 1)
	figs := map[string]func() (Figure, error){
		"rf":     func() (Figure, error) { return ReceptiveFields(neurons, v1sim.DefaultPopulation, 32, 14, 6, 3) },
		"tuning": func() (Figure, error) { return TuningCurves(neurons[:2], v1sim.DefaultPopulation, 32, 14, 0.12, 0.5) },
		"stats": func() (Figure, error) {
			one := 0.3
			return NeuralStatistics([]neural.NeuronStats{{FEV: 0.2, TrueFEV: &one, MeanCount: 1, Fano: 1.2}, {FEV: 0.4, TrueFEV: &one, MeanCount: 2, Fano: 1.1}}, true, "test")
		},
		"fig12": func() (Figure, error) {
			return Fig12([]results.ResolutionPoint{{PPD: 7, FEVe: 0.3, Accuracy: 0.8}, {PPD: 14, FEVe: 0.45, Accuracy: 0.78},
				{PPD: 28, FEVe: 0.2, Accuracy: 0.7}}, 14, "test")
		},
		"raster": func() (Figure, error) {
			d := &neural.Dataset{Meta: neural.Meta{Simulated: true}, Sessions: []neural.Session{{ID: "s", Neurons: []int{0},
				TestImageIDs: []int64{0, 1, 0, 1}, TestResponses: []float32{1, 2, 3, 0}}}}
			return TestRaster(d, 0, 0)
		},
	}
	for name, build := range figs {
		f, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := f.PNG()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("%s: not a PNG: %v", name, err)
		}
		if err := f.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := TestRaster(&neural.Dataset{}, 0, 0); err == nil {
		t.Error("a raster of a missing session must fail")
	}
}

// The same-step figure draws both models of every seed; a run without one of them is an error, and so is no run.
func TestOracleSameStep(t *testing.T) {
	var run results.SameStepRun
	run.Seed = 1
	for _, model := range []string{condition.Baseline, condition.OracleStage1} {
		for e := 1; e <= 4; e++ {
			ce := 2.3 / float64(e)
			run.Points = append(run.Points, results.SameStepPoint{Model: model, Epoch: e, Step: 100 * e,
				Clean: train.Evaluation{CrossEntropy: ce}, Mixture: train.Evaluation{CrossEntropy: ce + 0.2},
				Corrupted: train.Evaluation{CrossEntropy: ce + 0.4}})
		}
	}
	fig, err := OracleSameStep("smoke", []*results.SameStepRun{&run})
	if err != nil {
		t.Fatal(err)
	}
	if err := fig.Check(); err != nil {
		t.Fatal(err)
	}
	if len(fig.Tiles) != 1 || len(fig.Tiles[0]) != 3 {
		t.Errorf("%d rows of tiles, want one of 3", len(fig.Tiles))
	}
	table, err := OracleSameStepTable("smoke", []*results.SameStepRun{&run})
	if err != nil {
		t.Fatal(err)
	}
	// Equal curves: the Oracle is never lower.
	if len(table.Rows) != 1 || !strings.HasPrefix(table.Rows[0][1], "cosine") || table.Rows[0][2] != "400" ||
		table.Rows[0][5] != "not at the end" || table.Rows[0][3] != "0.575 (0.0 %)" {
		t.Errorf("table rows %q", table.Rows)
	}
	if _, err := OracleSameStep("smoke", nil); err == nil {
		t.Error("no runs gave a figure")
	}
	half := results.SameStepRun{Seed: 2, Points: run.Points[:4]}
	if _, err := OracleSameStep("smoke", []*results.SameStepRun{&run, &half}); err == nil {
		t.Error("a run without the Oracle gave a figure")
	}
}
