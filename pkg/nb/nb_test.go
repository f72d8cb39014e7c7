package nb

import (
	"path/filepath"
	"strings"
	"testing"
)

// Source finds functions, methods and types with their doc comments; an unknown name is an error.
func TestSource(t *testing.T) {
	dir := filepath.Join("..", "recon")
	for name, want := range map[string]string{
		"SpectralControl":         "func SpectralControl(",
		"Reconstructor.stepGraph": "func (r *Reconstructor) stepGraph(",
		"Problem":                 "type Problem struct",
	} {
		src, err := Source(dir, name)
		if err != nil || !strings.Contains(src, want) || !strings.HasPrefix(src, "//") {
			t.Errorf("%s: %v\n%s", name, err, src)
		}
	}
	if _, err := Source(dir, "Nothing"); err == nil {
		t.Error("an unknown name was found")
	}
}
