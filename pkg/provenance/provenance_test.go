package provenance

import (
	"encoding/json"
	"os"
	"path/filepath"
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
