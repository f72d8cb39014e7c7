package record

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A record round-trips; results that are not finite are left out (and named); impossible results and damaged
// records are errors that name the file.
func TestWriteAndRead(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.ckpt"), []byte("weights"), 0o644)
	rec := &Stage{ID: "baseline/seed1", Key: "k", Results: map[string]float64{"test_acc": 0.8, "feve": math.NaN()}}
	dropped, err := rec.Write(dir)
	if err != nil || len(dropped) != 1 || !strings.Contains(dropped[0], "feve") {
		t.Fatalf("write: dropped %v, %v", dropped, err)
	}
	got, err := Read(dir)
	if err != nil || got.Results["test_acc"] != 0.8 || got.Files["model.ckpt"].Size != 7 || got.Digest != rec.Digest {
		t.Fatalf("read back %+v, %v", got, err)
	}
	for name, content := range map[string]string{
		"accuracy of 750 %":  `{"results": {"test_acc": 7.5}}`,
		"negative accuracy":  `{"results": {"corrupted_acc": -0.1}}`,
		"not JSON":           `{"results": `,
		"a path outside":     `{"files": {"../x": {"size": 1, "sha256": "` + strings.Repeat("0", 64) + `"}}}`,
		"a negative size":    `{"files": {"x": {"size": -1, "sha256": "` + strings.Repeat("0", 64) + `"}}}`,
		"a malformed digest": `{"files": {"x": {"size": 1, "sha256": "abc"}}}`,
	} {
		if _, err := Parse([]byte(content), "stage.json"); err == nil || !strings.Contains(err.Error(), "stage.json") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Parse([]byte(`{"results": {"feve": -3.2, "feve_skipped_neurons": 4, "robustness_x": 180}}`), "s"); err != nil {
		t.Errorf("plausible results refused: %v", err)
	}
}

// FuzzParse: no input makes Parse panic; what it accepts has plausible results and file entries.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"id": "a", "key": "k", "files": {"m": {"size": 3, "sha256": "` + strings.Repeat("a", 64) + `"}}, "results": {"test_acc": 0.5}}`))
	f.Add([]byte(`{"results": {"test_acc": 7.5}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := Parse(b, "stage.json")
		if err != nil {
			return
		}
		for k, v := range rec.Results {
			if math.IsNaN(v) || strings.Contains(k, "acc") && (v < 0 || v > 1) {
				t.Errorf("accepted %s = %v", k, v)
			}
		}
	})
}
