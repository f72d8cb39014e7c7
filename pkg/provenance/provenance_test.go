package provenance

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteJSONIsAtomicAndReadable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "p.json")
	r := New().Finish()
	if r.Command == "" || r.GoVersion == "" || r.Date.IsZero() {
		t.Fatalf("incomplete record %+v", r)
	}
	if err := WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Command != r.Command || !back.Date.Equal(r.Date) {
		t.Errorf("round trip: got %+v, want %+v", back, r)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteJSON(filepath.Join(dir, "bad.json"), func() {}); err == nil {
		t.Error("encoding a func should fail")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.json")); !os.IsNotExist(err) {
		t.Error("a failed write left a file behind")
	}
}

// WriteCSV and ReadCSV round-trip rows with quoted fields; another header, a ragged row or a missing file is an error
// that names the file.
func TestCSVRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a.csv")
	header := []string{"model", "note"}
	rows := [][]string{{"mtl-monkey", "ratio 1:1, \"quoted\""}, {"baseline", ""}}
	if err := WriteCSV(file, header, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(file, header)
	if err != nil || !reflect.DeepEqual(got, rows) {
		t.Fatalf("read back %q, %v; want %q", got, err, rows)
	}
	if _, err := ReadCSV(file, []string{"model", "seed"}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("another header: %v", err)
	}
	os.WriteFile(file, []byte("model,note\na,b,c\n"), 0o644)
	if _, err := ReadCSV(file, header); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a ragged row: %v", err)
	}
	if _, err := ReadCSV(filepath.Join(t.TempDir(), "none.csv"), header); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}
