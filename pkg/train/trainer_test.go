package train_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
	. "github.com/robustvision/cotrain/pkg/train"
)

// tiny is a small classification problem: 8 training and 4 validation images per class of Fashion-MNIST at 32×32.
func tiny(t *testing.T) *data.Prepared {
	t.Helper()
	p, err := data.Load(data.Classification{Dataset: "fmnist", Dir: data.FashionMNISTDir, Size: 32, TrainPerClass: 8,
		ValPerClass: 4, TestPerClass: 4, Seed: 1}, "")
	if err != nil {
		t.Skipf("Fashion-MNIST not installed (.ci/setup installs it): %v", err)
	}
	return p
}

var tinyModel = models.VGGConfig{WidthDivisor: 32, InputSize: 32, InChannels: 3, NumClasses: 10}

// randomTargets are made-up responses of 6 neurons to every training image.
func randomTargets(t *testing.T, set *data.Set) *Responses {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	values := make([]float32, set.N*6)
	for i := range values {
		values[i] = float32(rng.ExpFloat64())
	}
	r, err := OnImages("random test targets", set, values, 6)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func weights(t *testing.T, m *Model) map[string][]float32 {
	t.Helper()
	s, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for p, v := range s {
		if v.DType() == dtypes.Float32 {
			out[p] = tensors.MustCopyFlatData[float32](v)
		}
	}
	return out
}

// A multi-task run at the ratio 2:1 (the objective with the most state: momentum, uncertainty weights, readout
// sampling, dropout, the neural batch cycler) killed in the middle of its second epoch and resumed ends with exactly the weights of an
// uninterrupted run with the same seed.
func TestResumeMatchesUninterrupted(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tiny(t)
	cfg := Defaults(MultiTask, tinyModel, 2, 7)
	cfg.Batch, cfg.SGD.LearningRate, cfg.Ratio = 16, 0.02, Ratio{Neural: 2, Classification: 1}
	d := Data{Images: p, Neural: randomTargets(t, p.Train)}

	whole, wholeMetrics, err := Train(b, cfg, d, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, _, err = Train(b, cfg, d, Options{Dir: dir, Interrupt: func(epoch, step int) bool { return epoch == 2 && step == 3 }})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "model.ckpt")); err == nil {
		t.Fatal("an interrupted run wrote its final model")
	}
	resumed, resumedMetrics, err := Train(b, cfg, d, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(resumedMetrics) != len(wholeMetrics) || len(wholeMetrics) != 2 {
		t.Fatalf("%d epochs resumed, %d uninterrupted; want 2", len(resumedMetrics), len(wholeMetrics))
	}
	w1, w2 := weights(t, whole), weights(t, resumed)
	if len(w1) == 0 || len(w1) != len(w2) {
		t.Fatalf("%d and %d weight tensors", len(w1), len(w2))
	}
	for path, v := range w1 {
		if !slices.Equal(v, w2[path]) {
			t.Errorf("%s differs between the resumed and the uninterrupted run", path)
		}
	}
	if wholeMetrics[1].Val != resumedMetrics[1].Val || wholeMetrics[1].Loss != resumedMetrics[1].Loss {
		t.Errorf("epoch 2 metrics differ: %+v vs %+v", wholeMetrics[1], resumedMetrics[1])
	}
	ms, err := ReadMetricsCSV(filepath.Join(dir, "metrics.csv"))
	if err != nil || len(ms) != 2 || ms[1].Val != resumedMetrics[1].Val || ms[0].LogVarN == 0 {
		t.Errorf("metrics.csv: %+v, %v", ms, err)
	}
	// A checkpoint of another configuration is not resumed silently.
	other := cfg
	other.Seed = 8
	if _, _, err := Train(b, other, d, Options{Dir: dir}); err == nil {
		t.Error("a checkpoint of another configuration was resumed")
	}
}

// The Oracle's second stage: the shared block, initialised from another model and frozen, does not change (neither
// its weights nor its batch-norm statistics), while the classification branch trains.
func TestFrozenSharedBlock(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tiny(t)
	cfg := Defaults(Classification, tinyModel, 1, 1)
	cfg.Batch = 16
	first, _, err := Train(b, cfg, Data{Images: p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	init, err := first.Weights()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed, cfg.Frozen, cfg.Initial = 2, []string{"/shared"}, []string{"/shared"}
	second, _, err := Train(b, cfg, Data{Images: p, Init: init}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w0, w1 := weights(t, first), weights(t, second)
	shared, changed := 0, 0
	for path, v := range w1 {
		switch {
		case InScope("/shared")(path):
			shared++
			if !slices.Equal(v, w0[path]) {
				t.Errorf("frozen %s changed", path)
			}
		case InScope("/classification")(path) && !slices.Equal(v, w0[path]):
			changed++
		}
	}
	if shared == 0 || changed == 0 {
		t.Errorf("%d frozen tensors checked, %d classification tensors changed", shared, changed)
	}
}

// The neural batch cycler visits every trial of a session once per pass, sessions in turn, in full batches.
func TestRecordedResponsesAndShuffle(t *testing.T) {
	p := tiny(t)
	r := randomTargets(t, p.Train)
	s := r.Shuffled(1)
	if slices.Equal(r.Values, s.Values) {
		t.Fatal("shuffling changed nothing")
	}
	sum := func(v []float32) (x float64) {
		for _, f := range v {
			x += float64(f)
		}
		return
	}
	if d := sum(r.Values) - sum(s.Values); d > 1e-3 || d < -1e-3 {
		t.Errorf("shuffling changed the responses' total by %v", d)
	}
	if err := (&Responses{Source: "bad", Neurons: 2, H: 32, W: 32, Images: make([]uint8, 1024), Trial: []int{0},
		Values: []float32{1}}).Validate(); err == nil {
		t.Error("responses with the wrong number of values validated")
	}
}

// Checkpoints round-trip, and a file that is not one is refused with its name.
func TestCheckpointFiles(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.ckpt")
	s := Snapshot{"/a/w": tensors.FromValue([]float32{1, 2, 3}), "/b": tensors.FromValue([][]float64{{4}})}
	if err := WriteCheckpoint(file, s, map[string]int{"epoch": 3}); err != nil {
		t.Fatal(err)
	}
	var state map[string]int
	got, err := ReadCheckpoint(file, &state)
	if err != nil || state["epoch"] != 3 || len(got) != 2 {
		t.Fatalf("read back %v, %v, %v", got, state, err)
	}
	if v := tensors.MustCopyFlatData[float32](got["/a/w"]); !slices.Equal(v, []float32{1, 2, 3}) {
		t.Errorf("/a/w = %v", v)
	}
	bad := filepath.Join(dir, "bad.ckpt")
	os.WriteFile(bad, []byte("not a checkpoint"), 0o644)
	if _, err := ReadCheckpoint(bad, nil); err == nil || !strings.Contains(err.Error(), "bad.ckpt") {
		t.Errorf("bad checkpoint: %v", err)
	}
}
