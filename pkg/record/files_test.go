package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Recorded files verify until one is truncated, emptied, changed in one byte or removed; the digest changes with any
// file; transient files are not recorded.
func TestRecordAndVerify(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	write := func(rel, s string) { os.WriteFile(filepath.Join(dir, rel), []byte(s), 0o644) }
	write("model.ckpt", "weights weights")
	write("sub/a.npy", "abc")
	write("stage.json", "{}")
	write("last.ckpt", "resume")
	files, err := List(dir, Transient)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files["sub/a.npy"].Size != 3 {
		t.Fatalf("recorded %v", files)
	}
	if err := files.Verify(dir); err != nil {
		t.Fatal(err)
	}
	digest := files.Digest()
	for _, c := range []struct{ name, content, want string }{
		{"emptied", "", "0 bytes"},
		{"truncated", "weights", "7 bytes"},
		{"one byte changed", "weights weightS", "content differs"},
	} {
		write("model.ckpt", c.content)
		if err := files.Verify(dir); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "model.ckpt") {
			t.Errorf("%s: %v", c.name, err)
		}
		changed, _ := List(dir, Transient)
		if changed.Digest() == digest {
			t.Errorf("%s: the digest did not change", c.name)
		}
	}
	write("model.ckpt", "weights weights")
	os.Remove(filepath.Join(dir, "sub", "a.npy"))
	if err := files.Verify(dir); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("removed file: %v", err)
	}
}
