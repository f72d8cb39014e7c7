package v1sim

import (
	"bytes"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
)

func photos(t *testing.T) []data.PhotoImage {
	t.Helper()
	root := filepath.Join("..", "..")
	list, err := data.LoadManifest(filepath.Join(root, "data", "photos.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := data.LoadPhotos(list, filepath.Join(root, "data", "cache", "photos"))
	if err != nil {
		t.Fatalf("%v (bash .ci/setup fetches the photographs)", err)
	}
	return p
}

// A protocol like the smoke scale's, with enough repeats to compare FEV with the truth.
var testProtocol = Protocol{Neurons: 60, Sessions: 3, TrainImages: 300, TrainPerSession: 200, TestImages: 40,
	RepeatsMin: 30, RepeatsMax: 36, ImageSize: 32, PPD: 14, WindowMs: [2]float64{40, 160}}

func TestSameSeedSameBytes(t *testing.T) {
	ph := photos(t)
	small := testProtocol
	small.Neurons, small.TrainImages, small.TrainPerSession, small.TestImages, small.RepeatsMin, small.RepeatsMax = 12, 50, 30, 6, 3, 4
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, seed := range []uint64{5, 5, 6} {
		d, _, err := Simulate(ph, small, DefaultPopulation, seed)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Write(dirs[i]); err != nil {
			t.Fatal(err)
		}
	}
	same := func(a, b string) bool {
		equal := true
		filepath.WalkDir(a, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(a, p)
			x, _ := os.ReadFile(p)
			y, err := os.ReadFile(filepath.Join(b, rel))
			if err != nil || !bytes.Equal(x, y) {
				equal = false
			}
			return nil
		})
		return equal
	}
	if !same(dirs[0], dirs[1]) {
		t.Error("the same seed gave different files")
	}
	if same(dirs[0], dirs[2]) {
		t.Error("different seeds gave the same files")
	}
}

// FEV estimated from the repeats agrees with the simulator's ground truth within sampling error, and the
// population's statistics fall in the ranges reported for awake macaque V1.
func TestStatisticsAndGroundTruth(t *testing.T) {
	d, _, err := Simulate(photos(t), testProtocol, DefaultPopulation, 3)
	if err != nil {
		t.Fatal(err)
	}
	stats := d.Stats()
	var fev, truth, fano, count []float64
	for _, s := range stats {
		fev = append(fev, s.FEV)
		truth = append(truth, *s.TrueFEV)
		fano = append(fano, s.Fano)
		count = append(count, s.MeanCount)
	}
	t.Log(neural.Summary(d, stats))
	// Sampling error of an FEV estimate from 40 images × ~33 repeats is a few hundredths; over 60 neurons the mean
	// difference must be close to 0 and the two must be strongly correlated.
	var diff float64
	for i := range fev {
		diff += fev[i] - truth[i]
	}
	diff /= float64(len(fev))
	if r := stat.Correlation(fev, truth, nil); math.Abs(diff) > 0.03 || r < 0.9 {
		t.Errorf("estimated FEV vs truth: mean difference %.3f, correlation %.3f", diff, r)
	}
	// Mean spike counts in a 120 ms window: awake V1 fires ~2–20 sp/s to natural images (0.25–2.5 counts).
	if m := stat.Mean(count, nil); m < 0.25 || m > 2.5 {
		t.Errorf("mean count %.2f outside 0.25–2.5", m)
	}
	// Fano factors of V1 counts: 1–2 on average (Goris, Movshon & Simoncelli 2014; Tolhurst et al. 1983).
	if m := stat.Mean(fano, nil); m < 1 || m > 2 {
		t.Errorf("mean Fano factor %.2f outside 1–2", m)
	}
	// Explainable variance: the public demo subset of the authors' V1 data (68 neurons) averages ≈ 0.29; allow
	// 0.15–0.45 at this size.
	if m := stat.Mean(truth, nil); m < 0.15 || m > 0.45 {
		t.Errorf("mean true FEV %.3f outside 0.15–0.45", m)
	}
}

func TestTuningPeaksAtPreference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	neurons := SamplePopulation(DefaultPopulation, 20, rng)
	var oris, sfs []float64
	for i := range 12 {
		oris = append(oris, float64(i)*math.Pi/12)
	}
	for _, f := range []float64{0.5, 1, 1.5, 2, 3, 4, 5.5} {
		sfs = append(sfs, f)
	}
	good := 0
	for _, n := range neurons {
		n.CenterX, n.CenterY = 0, 0
		n.SF = 2
		oc, sc := Tuning(n, DefaultPopulation, 64, 14, 0.12, 0.5, oris, sfs)
		best := 0
		for i := range oc {
			if oc[i] > oc[best] {
				best = i
			}
		}
		d := math.Abs(oris[best] - n.Orientation)
		d = math.Min(d, math.Pi-d)
		bestSF := 0
		for i := range sc {
			if sc[i] > sc[bestSF] {
				bestSF = i
			}
		}
		if d <= math.Pi/12 && sfs[bestSF] >= 1.5 && sfs[bestSF] <= 3 {
			good++
		}
	}
	if good < 18 {
		t.Errorf("only %d of 20 neurons peak at their preferred orientation and spatial frequency", good)
	}
}

func TestProtocolValidation(t *testing.T) {
	bad := testProtocol
	bad.TrainPerSession = bad.TrainImages + 1
	if _, _, err := Simulate(nil, bad, DefaultPopulation, 1); err == nil {
		t.Error("more presentations per session than training images must fail")
	}
	if _, _, err := Simulate(nil, testProtocol, DefaultPopulation, 1); err == nil {
		t.Error("no photographs must fail")
	}
}

// ExpectedCounts on the recording's own images reproduces the simulator's noise-free responses.
func TestExpectedCountsMatchNoiseFree(t *testing.T) {
	ph := photos(t)
	proto := Protocol{Neurons: 6, Sessions: 2, TrainImages: 10, TrainPerSession: 8, TestImages: 3, RepeatsMin: 2,
		RepeatsMax: 3, ImageSize: 32, PPD: 14, WindowMs: [2]float64{40, 160}}
	d, neurons, err := Simulate(ph, proto, DefaultPopulation, 3)
	if err != nil {
		t.Fatal(err)
	}
	var order []int
	for _, s := range d.Sessions {
		order = append(order, s.Neurons...)
	}
	got, err := ExpectedCounts(neurons, order, DefaultPopulation, proto, d.Images, d.N)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if math.Abs(float64(v-d.NoiseFree[i])) > 1e-5*math.Max(1, float64(v)) {
			t.Fatalf("value %d: %v, noise-free %v", i, v, d.NoiseFree[i])
		}
	}
	if _, err := ExpectedCounts(neurons, order, DefaultPopulation, proto, d.Images[:10], d.N); err == nil {
		t.Error("a wrong number of pixels was accepted")
	}
}
