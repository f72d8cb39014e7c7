package train_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
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

// Damaged and hostile checkpoints are errors that name the file: a flipped byte anywhere (the checksum), NaN
// weights, a dtype no checkpoint holds, a zero-byte or truncated file, weights of the wrong shape for the model.
func TestDamagedCheckpoints(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tiny(t)
	dir := t.TempDir()
	m, _, err := Train(b, Defaults(Classification, tinyModel, 1, 1), Data{Images: p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "model.ckpt")
	if err := m.Save(file); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(file)
	if _, err := LoadModel(b, file); err != nil {
		t.Fatalf("a good model: %v", err)
	}
	write := func(data []byte) string {
		f := filepath.Join(dir, "bad.ckpt")
		os.WriteFile(f, data, 0o644)
		return f
	}
	for _, at := range []int{30, len(good) / 2, len(good) - 1} { // header, weights, last byte
		flipped := bytes.Clone(good)
		flipped[at] ^= 0x10
		if _, err := LoadModel(b, write(flipped)); err == nil || !strings.Contains(err.Error(), "bad.ckpt") {
			t.Errorf("a byte flipped at %d of %d: %v", at, len(good), err)
		}
	}
	for name, data := range map[string][]byte{"zero bytes": {}, "truncated": good[:len(good)/3]} {
		if _, err := LoadModel(b, write(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Well-formed files with bad content.
	s, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	var kernel string
	for _, path := range s.Paths() {
		if strings.HasSuffix(path, "kernel") {
			kernel = path
			break
		}
	}
	nan := Snapshot{}
	for k, v := range s {
		nan[k] = v
	}
	vals := tensors.MustCopyFlatData[float32](s[kernel])
	vals[0] = float32(math.NaN())
	nan[kernel] = tensors.FromFlatDataAndDimensions(vals, s[kernel].Shape().Dimensions...)
	f := filepath.Join(dir, "nan.ckpt")
	if err := WriteCheckpoint(f, nan, m.Info); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(b, f); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN weights: %v", err)
	}
	wrong := Snapshot{}
	for k, v := range s {
		wrong[k] = v
	}
	wrong[kernel] = tensors.FromValue([]float32{1, 2})
	if err := WriteCheckpoint(f, wrong, m.Info); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadModel(b, f); err == nil || !strings.Contains(err.Error(), kernel) {
		t.Errorf("a kernel of the wrong shape: %v", err)
	}
	odd := Snapshot{"/x": tensors.FromValue([]complex64{1})}
	if err := WriteCheckpoint(f, odd, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCheckpoint(f, nil); err == nil || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("a complex64 variable: %v", err)
	}
}

// A learning rate that makes the loss overflow stops training with ErrDiverged, keeping the last checkpoint; a
// damaged last.ckpt is set aside and the run starts afresh.
func TestDivergenceAndDamagedResume(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tiny(t)
	cfg := Defaults(Classification, tinyModel, 3, 1)
	cfg.Batch, cfg.SGD.LearningRate = 16, 1e12
	dir := t.TempDir()
	if _, _, err := Train(b, cfg, Data{Images: p}, Options{Dir: dir}); !errors.Is(err, ErrDiverged) {
		t.Fatalf("lr 1e12: %v, want ErrDiverged", err)
	}
	cfg.SGD.LearningRate, cfg.MaxEpochs = 0.01, 1
	dir = t.TempDir()
	if _, _, err := Train(b, cfg, Data{Images: p}, Options{Dir: dir, Interrupt: func(e, s int) bool { return e == 1 && s == 2 }}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupt: %v", err)
	}
	// The interrupted run wrote no checkpoint of a finished epoch yet: make one up, damaged.
	os.WriteFile(filepath.Join(dir, "last.ckpt"), []byte("cotrain-checkpoint-v2\ngarbage"), 0o644)
	var log bytes.Buffer
	if _, _, err := Train(b, cfg, Data{Images: p}, Options{Dir: dir, Progress: &log}); err != nil {
		t.Fatalf("resuming past a damaged last.ckpt: %v", err)
	}
	if !strings.Contains(log.String(), "damaged") {
		t.Errorf("no word of the damaged checkpoint: %s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "last.ckpt.damaged")); err != nil {
		t.Errorf("the damaged checkpoint was not set aside: %v", err)
	}
}

// FuzzDecodeCheckpoint: no input makes the checkpoint reader panic, whether or not its checksum matches (the fuzzer
// also gets each input wrapped in a valid header, so that the payload decoder is exercised); what it accepts holds
// finite values.
func FuzzDecodeCheckpoint(f *testing.F) {
	dir := f.TempDir()
	file := filepath.Join(dir, "x.ckpt")
	s := Snapshot{"/a/w": tensors.FromValue([]float32{1, 2, 3}), "/n": tensors.FromValue([]int64{7})}
	if err := WriteCheckpoint(file, s, map[string]int{"epoch": 1}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(file)
	f.Add(good)
	f.Add(good[bytes.IndexByte(good[22:], '\n')+23:]) // the payload alone
	f.Add([]byte("cotrain-checkpoint-v1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sum := sha256.Sum256(b)
		wrapped := append([]byte("cotrain-checkpoint-v2\n"+hex.EncodeToString(sum[:])+"\n"), b...)
		for _, in := range [][]byte{b, wrapped} {
			snap, _, err := DecodeCheckpoint(in)
			if err != nil {
				continue
			}
			for path, v := range snap {
				if v.DType() == dtypes.Float32 {
					for _, x := range tensors.MustCopyFlatData[float32](v) {
						if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
							t.Fatalf("accepted %s with %v", path, x)
						}
					}
				}
			}
		}
	})
}

// Split keeps at most the trials asked for, the same fraction of every session, holds a disjoint tenth back, keeps
// every trial's responses with its image, and is seeded.
func TestSplitResponses(t *testing.T) {
	p := tiny(t)
	r := randomTargets(t, p.Train)
	n := len(r.Trial)
	keep := n / 2
	tr, val := r.Split(keep, 0.1, 3)
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	if val == nil || val.Validate() != nil {
		t.Fatalf("no valid validation set: %v", val)
	}
	if got := len(tr.Trial) + len(val.Trial); got != keep {
		t.Errorf("%d trials kept, want %d", got, keep)
	}
	if want := int(0.1 * float64(keep)); len(val.Trial) != want {
		t.Errorf("%d validation trials, want %d", len(val.Trial), want)
	}
	seen := map[int]bool{}
	for _, part := range []*Responses{tr, val} {
		for k, img := range part.Trial {
			if seen[img] {
				t.Fatalf("image %d is in both parts (or twice)", img)
			}
			seen[img] = true
			if !slices.Equal(part.Values[k*r.Neurons:(k+1)*r.Neurons], r.Values[img*r.Neurons:(img+1)*r.Neurons]) {
				t.Fatalf("image %d lost its responses", img)
			}
		}
	}
	again, _ := r.Split(keep, 0.1, 3)
	other, _ := r.Split(keep, 0.1, 4)
	if !slices.Equal(again.Trial, tr.Trial) || slices.Equal(other.Trial, tr.Trial) {
		t.Error("the split is not a seeded random choice")
	}
	if all, _ := r.Split(0, 0.1, 3); len(all.Trial) != n-int(0.1*float64(n)) {
		t.Errorf("keep 0 kept %d training trials of %d", len(all.Trial), n)
	}
}

// AfterEpoch sees the model at the end of every epoch without changing the run; Evaluate's accuracy is Accuracy's
// and its cross-entropy is the mean −log softmax of the true class; an error from AfterEpoch stops the run.
func TestAfterEpochAndEvaluate(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	p := tiny(t)
	cfg := Defaults(Classification, tinyModel, 3, 5)
	cfg.Batch, cfg.SGD.LearningRate = 16, 0.02
	d := Data{Images: p}
	plain, plainMetrics, err := Train(b, cfg, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var epochs []int
	var evals []Evaluation
	hooked, hookedMetrics, err := Train(b, cfg, d, Options{AfterEpoch: func(epoch int, m *Model) error {
		epochs = append(epochs, epoch)
		ev, err := m.Evaluate(p.Validation, nil)
		if err != nil {
			return err
		}
		acc, err := m.Accuracy(p.Validation, nil)
		if err != nil {
			return err
		}
		if ev.Accuracy != acc {
			t.Errorf("epoch %d: Evaluate's accuracy %v, Accuracy %v", epoch, ev.Accuracy, acc)
		}
		evals = append(evals, ev)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(epochs, []int{1, 2, 3}) {
		t.Fatalf("AfterEpoch saw epochs %v, want 1 2 3", epochs)
	}
	for i := range plainMetrics {
		if plainMetrics[i].Val != hookedMetrics[i].Val || plainMetrics[i].Loss != hookedMetrics[i].Loss {
			t.Errorf("epoch %d: the hook changed the run: %+v vs %+v", i+1, plainMetrics[i], hookedMetrics[i])
		}
	}
	w1, w2 := weights(t, plain), weights(t, hooked)
	for path, v := range w1 {
		if !slices.Equal(v, w2[path]) {
			t.Errorf("%s differs with the hook", path)
		}
	}
	// The cross-entropy from the logits, in float32 softmax.
	logits, err := hooked.Logits(p.Validation.Pix, p.Validation.N)
	if err != nil {
		t.Fatal(err)
	}
	classes := len(logits) / p.Validation.N
	want := 0.0
	for i := range p.Validation.N {
		row := logits[i*classes : (i+1)*classes]
		var z float32
		for _, v := range row {
			z += float32(math.Exp(float64(v)))
		}
		want -= math.Log(math.Exp(float64(row[p.Validation.Labels[i]])) / float64(z))
	}
	want /= float64(p.Validation.N)
	got, err := hooked.Evaluate(p.Validation, nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got.CrossEntropy-want) > 1e-4 || got.CrossEntropy <= 0 {
		t.Errorf("cross-entropy %v, want %v", got.CrossEntropy, want)
	}
	if len(evals) != 3 || evals[2].CrossEntropy >= evals[0].CrossEntropy+1 {
		t.Errorf("held-out evaluations %+v", evals)
	}
	stop := errors.New("stop here")
	_, _, err = Train(b, cfg, d, Options{AfterEpoch: func(epoch int, m *Model) error { return stop }})
	if !errors.Is(err, stop) {
		t.Errorf("an AfterEpoch error gave %v", err)
	}
}

// The Oracle's corruption augmentation: the same (seed, epoch, image) gives the same image; mixed leaves about half
// clean, unmixed corrupts every image.
func TestCorruptionTransform(t *testing.T) {
	p := tiny(t)
	oc := Defaults(CorruptionConsistency, tinyModel, 1, 1).Oracle
	hw := p.Train.H * p.Train.W
	count := func(mixed bool, seed uint64) (changed int, pix []uint8) {
		f := CorruptionTransform(oc, p.Train.H, seed, mixed)
		pix = append([]uint8(nil), p.Train.Pix...)
		for i := range p.Train.N {
			f(0, i, pix[i*hw:(i+1)*hw])
			if !bytes.Equal(pix[i*hw:(i+1)*hw], p.Train.Pix[i*hw:(i+1)*hw]) {
				changed++
			}
		}
		return changed, pix
	}
	all, a := count(false, 9)
	half, _ := count(true, 9)
	_, again := count(false, 9)
	_, other := count(false, 10)
	n := p.Train.N
	if all < n*9/10 || half < n/4 || half > n*3/4 {
		t.Errorf("%d of %d images changed unmixed, %d mixed", all, n, half)
	}
	if !bytes.Equal(a, again) || bytes.Equal(a, other) {
		t.Error("the corruptions do not follow the seed")
	}
}
