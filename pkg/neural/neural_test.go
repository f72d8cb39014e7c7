package neural

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tiny builds a two-neuron session: test images 0 and 1, three repeats each.
func tiny() *Dataset {
	s := Session{ID: "s1", Neurons: []int{0, 1},
		TrainImageIDs: []int64{2, 3}, TrainResponses: []float32{1, 0, 2, 1},
		// trials: img0 ×3, img1 ×3; neuron 0 responses 1,2,3 | 4,5,6; neuron 1 constant 2 except one NaN
		TestImageIDs:  []int64{0, 0, 0, 1, 1, 1},
		TestResponses: []float32{1, 2, 2, 2, 3, float32(math.NaN()), 4, 2, 5, 2, 6, 2},
	}
	return &Dataset{Meta: Meta{Source: "test", PPD: 14, ImageSize: 4, WindowMs: [2]float64{40, 160},
		Sessions: []SessionRef{{ID: "s1", Neurons: []int{0, 1}}}},
		Images: make([]uint8, 4*4*4), N: 4, H: 4, W: 4, Sessions: []Session{s}}
}

// Hand computation for neuron 0: responses 1,2,3 (image 0) and 4,5,6 (image 1).
// Total variance (ddof 1) of 1…6 = 3.5; noise variance = mean(1, 1) = 1; FEV = 2.5/3.5.
// Predictions 2 and 5 (the image means): MSE = (1+0+1+1+0+1)/6 = 2/3; FEVe = 1 − (2/3 − 1)/(3.5 − 1) = 1 + 1/7.5.
func TestFEVHandComputed(t *testing.T) {
	s := tiny().Sessions[0]
	total, noise := s.Variances(0)
	if math.Abs(total-3.5) > 1e-12 || math.Abs(noise-1) > 1e-12 {
		t.Errorf("variances %v, %v; want 3.5, 1", total, noise)
	}
	if fev := s.FEV(0); math.Abs(fev-2.5/3.5) > 1e-12 {
		t.Errorf("FEV = %v, want %v", fev, 2.5/3.5)
	}
	means := map[int64]float64{0: 2, 1: 5}
	if fevE := s.FEVe(0, func(i int64) float64 { return means[i] }); math.Abs(fevE-(1+1/7.5)) > 1e-12 {
		t.Errorf("FEVe = %v, want %v", fevE, 1+1/7.5)
	}
	// A constant prediction at the grand mean explains nothing of the explainable variance: MSE = total·5/6.
	if fevE := s.FEVe(0, func(int64) float64 { return 3.5 }); math.Abs(fevE-(1-(3.5*5/6-1)/2.5)) > 1e-12 {
		t.Errorf("FEVe(constant) = %v", fevE)
	}
	// Neuron 1 is constant with one missing repeat: the NaN is skipped, variances are 0, Fano is 0.
	if total, noise := s.Variances(1); total != 0 || noise != 0 {
		t.Errorf("neuron 1 variances %v %v", total, noise)
	}
	if f := s.Fano(0); math.Abs(f-(1.0/2+1.0/5)/2) > 1e-12 {
		t.Errorf("Fano = %v", f)
	}
	// Leave-one-out means 2.5, 2, 1.5, 5.5, 5, 4.5 against 1…6: r = 11.5/√(17.5·14.5).
	if r := s.OracleCorrelation(0); math.Abs(r-11.5/math.Sqrt(17.5*14.5)) > 1e-12 {
		t.Errorf("oracle correlation %v, want %v", r, 11.5/math.Sqrt(17.5*14.5))
	}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ds")
	d := tiny()
	if err := d.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.N != 4 || back.NumNeurons() != 2 || len(back.Sessions[0].TestResponses) != 12 ||
		!math.IsNaN(float64(back.Sessions[0].TestResponses[5])) || back.Sessions[0].TrainResponses[2] != 2 {
		t.Errorf("round trip lost data: %+v", back.Sessions[0])
	}
}

// Each kind of malformed input is rejected with an error that names the file and the problem.
func TestLoadRejectsMalformedInput(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(dir string)
		want   string
	}{
		{"missing meta", func(d string) { os.Remove(filepath.Join(d, "meta.json")) }, "meta.json: missing"},
		{"bad json", func(d string) { os.WriteFile(filepath.Join(d, "meta.json"), []byte("{"), 0o644) }, "invalid JSON"},
		{"missing images", func(d string) { os.Remove(filepath.Join(d, "images.npy")) }, "images.npy"},
		{"garbage npy", func(d string) { os.WriteFile(filepath.Join(d, "images.npy"), []byte("hello"), 0o644) }, "not a NumPy"},
		{"image shape", func(d string) { writeNPY(filepath.Join(d, "images.npy"), []int{4, 4, 5}, make([]uint8, 80)) }, "meta.json says 4"},
		{"id out of range", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_image_ids.npy"), []int{2}, []int64{2, 9})
		}, "shows image 9"},
		{"negative id", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_image_ids.npy"), []int{2}, []int64{-1, 0})
		}, "shows image -1"},
		{"responses shape", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_responses.npy"), []int{2, 3}, make([]float32, 6))
		}, "want [2 trials, 2 neurons]"},
		{"NaN in training", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_responses.npy"), []int{2, 2}, []float32{1, float32(math.NaN()), 0, 0})
		}, "NaN at trial 0, neuron 1"},
		{"negative count", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_responses.npy"), []int{2, 2}, []float32{1, -3, 0, 0})
		}, "invalid spike count"},
		{"wrong dtype", func(d string) {
			writeNPY(filepath.Join(d, "s1", "train_responses.npy"), []int{2, 2}, []float64{1, 2, 0, 0})
		}, "dtype <f8, want <f4"},
		{"truncated", func(d string) {
			p := filepath.Join(d, "s1", "test_responses.npy")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-8], 0o644)
		}, "test_responses.npy"},
		{"missing session file", func(d string) { os.Remove(filepath.Join(d, "s1", "test_image_ids.npy")) }, "test_image_ids.npy"},
		{"duplicate neuron", func(d string) {
			os.WriteFile(filepath.Join(d, "meta.json"), []byte(`{"ppd":14,"image_size":4,"sessions":[{"id":"s1","neurons":[0,1]},{"id":"s2","neurons":[1]}]}`), 0o644)
		}, "neuron 1 is in sessions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tiny().Write(dir); err != nil {
				t.Fatal(err)
			}
			c.break_(dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// The converter for the authors' session pickles: run its self-test (it writes an example in the authors' layout and
// converts it) and load the result.
func TestConvertSessions(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Fatalf("%s with numpy is needed (Debian package python3-numpy; bash .ci/setup installs it): %v", python, err)
	}
	work := t.TempDir()
	out, err := exec.Command(python, "convert_sessions.py", "--selftest", work).CombinedOutput()
	if err != nil {
		t.Fatalf("converter: %v\n%s", err, out)
	}
	d, err := Load(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Sessions) != 2 || d.NumNeurons() != 5 || d.N != 12 || d.H != 29 || d.Meta.PPD != 14 || d.Meta.Simulated {
		t.Fatalf("converted: %d sessions, %d neurons, %d images %d px at %v ppd", len(d.Sessions), d.NumNeurons(), d.N, d.H, d.Meta.PPD)
	}
	s := d.Sessions[0]
	if len(s.TrainImageIDs) != 8 || len(s.TestImageIDs) != 20 || len(s.Neurons) != 3 {
		t.Errorf("session 1: %d train trials, %d test trials, %d neurons", len(s.TrainImageIDs), len(s.TestImageIDs), len(s.Neurons))
	}
	// 12 bins of (t + u + b) mod 3 sum to 12 for every trial and neuron.
	for _, v := range s.TrainResponses {
		if v != 12 {
			t.Fatalf("summed response %v, want 12", v)
		}
	}
	if _, trials := s.Repeats(); len(trials) != 4 || len(trials[0]) != 5 {
		t.Errorf("test repeats %v", trials)
	}
}

// The paper's average keeps neurons with FEV > 0.15: neuron 0 (FEV 2.5/3.5) in, neuron 1 (constant, FEV NaN) out;
// a neuron whose FEVe is undefined is skipped and counted.
func TestMeanFEVe(t *testing.T) {
	d := tiny()
	reliable, skipped, err := d.MeanFEVe([]float64{0.6, -3})
	if err != nil || reliable != 0.6 || skipped != 0 {
		t.Errorf("reliable %v, skipped %d, %v; want 0.6, 0", reliable, skipped, err)
	}
	reliable, skipped, err = d.MeanFEVe([]float64{0.6, math.NaN()})
	if err != nil || reliable != 0.6 || skipped != 1 {
		t.Errorf("with a NaN FEVe: reliable %v, skipped %d, %v", reliable, skipped, err)
	}
	if _, _, err := d.MeanFEVe([]float64{1}); err == nil {
		t.Error("FEVe of one neuron for two accepted")
	}
}

// A .npy header whose shape claims more than the file holds (here 2^62+32 values) is an error, not a panic or a
// huge allocation.
func TestNPYHeaderOverflow(t *testing.T) {
	header := "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387936,), }"
	header += strings.Repeat(" ", 64-(10+len(header)+1)%64) + "\n"
	raw := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	raw = append(append(raw, header...), make([]byte, 16)...)
	if _, _, err := decodeNPY[float32](raw, "x.npy"); err == nil || !strings.Contains(err.Error(), "x.npy") {
		t.Errorf("overflowing shape: %v", err)
	}
}

// FuzzDecodeNPY: no input makes the .npy reader panic; what it accepts has as many values as its shape says.
func FuzzDecodeNPY(f *testing.F) {
	dir := f.TempDir()
	for i, shape := range [][]int{{2, 3}, {4}, {0, 5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		path := filepath.Join(dir, fmt.Sprintf("%d.npy", i))
		if err := writeNPY(path, shape, make([]float32, n)); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		f.Add(b)
	}
	f.Add([]byte("\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, check := range []func() (int, []int, error){
			func() (int, []int, error) { v, s, err := decodeNPY[float32](raw, "f"); return len(v), s, err },
			func() (int, []int, error) { v, s, err := decodeNPY[uint8](raw, "f"); return len(v), s, err },
			func() (int, []int, error) { v, s, err := decodeNPY[int64](raw, "f"); return len(v), s, err },
		} {
			n, shape, err := check()
			if err != nil {
				continue
			}
			want := 1
			for _, d := range shape {
				want *= d
			}
			if n != want {
				t.Errorf("%d values for shape %v", n, shape)
			}
		}
	})
}

// FuzzLoadMeta: a neural dataset folder whose meta.json is anything loads or fails with an error, never panics.
func FuzzLoadMeta(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "ds")
	if err := tiny().Write(dir); err != nil {
		f.Fatal(err)
	}
	meta, _ := os.ReadFile(filepath.Join(dir, "meta.json"))
	f.Add(meta)
	f.Add([]byte(`{"sessions": [{"id": "s1", "neurons": [0, 0]}], "ppd": 14, "image_size": 4}`))
	f.Add([]byte(`{"sessions": [{"id": "../../etc", "neurons": [1]}], "ppd": 1, "image_size": 4}`))
	f.Fuzz(func(t *testing.T, m []byte) {
		work := t.TempDir()
		if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(work, "meta.json"), m, 0o644)
		if d, err := Load(work); err == nil && d.NumNeurons() == 0 {
			t.Error("a dataset without neurons loaded")
		}
	})
}
