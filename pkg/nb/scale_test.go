package nb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// A scale's study counts as finished when its cache lacks only what the committed cache leaves out (the recording,
// made again here, and the MTL targets), and not when a trained model is missing. Checked on a copy of the smoke
// study (made first where absent, as .ci/test does).
func TestBestScaleAcceptsLeftOutDerivedData(t *testing.T) {
	r := smokeCopy(t)
	root := r.Root
	for _, dir := range []string{study.V1Stage, "targets"} {
		if err := os.RemoveAll(r.Dir(dir)); err != nil {
			t.Fatal(err)
		}
	}
	if got := choose(root, []scales.Scale{scales.Smoke}, scales.Mini).Scale; got.Name != scales.Smoke.Name {
		t.Fatalf("without the recording and the targets: %s, want smoke", got.Name)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(study.V1Stage), "meta.json")); err != nil {
		t.Errorf("the recording was not made again: %v", err)
	}
	if err := os.Remove(filepath.Join(r.Dir("baseline/seed1"), "model.ckpt")); err != nil {
		t.Fatal(err)
	}
	if got := choose(root, []scales.Scale{scales.Smoke}, scales.Mini).Scale; got.Name != scales.Mini.Name {
		t.Errorf("without a trained model: %s, want the fallback", got.Name)
	}
}

// Section 3's Findings in notebook 03: only its rows, with the gpu scale's column ("not run" where its cache has no
// finished study, its verdicts once it has).
func TestSectionFindingsHaveTheGPUColumn(t *testing.T) {
	r := smokeCopy(t)
	tab, err := SectionFindings(r)
	if err != nil {
		t.Fatal(err)
	}
	if last := tab.Header[len(tab.Header)-1]; last != "at the gpu scale" {
		t.Fatalf("the last column is %q", last)
	}
	for _, row := range tab.Rows {
		if strings.HasPrefix(row[1], "Section 4") || strings.HasPrefix(row[1], "Appendix") {
			t.Errorf("a row beyond Section 3: %v", row[:2])
		}
		if row[len(row)-1] != "not run" {
			t.Errorf("%s: the gpu column reads %q without a gpu study", row[0], row[len(row)-1])
		}
	}
	full, err := Findings(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Rows) <= len(tab.Rows) {
		t.Errorf("the whole Findings have %d rows, Section 3's %d", len(full.Rows), len(tab.Rows))
	}
}

// smokeCopy is a runner over a copy of the smoke study (made first where absent, as .ci/test does), repaired where
// another test damaged the original while it was copied.
func smokeCopy(t *testing.T) *study.Runner {
	t.Helper()
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "data", "cache", "smoke"), os.DirFS(filepath.Join("..", "..", "data", "cache", "smoke"))); err != nil {
		t.Fatal(err)
	}
	r := &study.Runner{Root: root, Scale: scales.Smoke, Backend: b}
	if err := r.Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	return r
}
