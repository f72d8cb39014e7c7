package analysis

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/saliency"
)

// A folder of saliency maps replaces the stand-in model; a missing map is an error that names the folder.
func TestUserSaliencyMaps(t *testing.T) {
	dir := t.TempDir()
	vals := make([]float32, 16*16)
	for i := range vals {
		vals[i] = float32(i % 16)
	}
	if err := neural.WriteResponsesNPY(filepath.Join(dir, "photo1.npy"), 16, 16, vals); err != nil {
		t.Fatal(err)
	}
	patch := make([]uint8, 32*32)
	m, err := SaliencyMap("photo1", patch, 32, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Source, dir) || m.Density[31] <= m.Density[0] {
		t.Errorf("user map: source %q, density left %v right %v", m.Source, m.Density[0], m.Density[31])
	}
	if _, err := SaliencyMap("photo2", patch, 32, dir, false); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing map: %v", err)
	}
	m, err = SaliencyMap("photo1", patch, 32, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != saliency.StandIn {
		t.Errorf("default source %q", m.Source)
	}
}
