// Package notebooks_test executes every notebook of the project headlessly and fails on any cell error.
package notebooks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/notebook"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

func setup(t *testing.T) *notebook.Runner {
	t.Helper()
	if os.Getenv("COTRAIN_SKIP_NOTEBOOKS") != "" {
		t.Skip("COTRAIN_SKIP_NOTEBOOKS is set")
	}
	r, err := notebook.Setup(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNotebooks executes every notebooks/*.ipynb and requires that no cell fails and that each notebook shows at
// least one figure. The executed copies land in $COTRAIN_NOTEBOOK_OUT when set (to inspect them), else in a
// temporary folder.
//
// The notebooks read the smoke study's results: they are prepared first (cotrain reproduce -scale smoke; nothing
// runs when the cache already holds them).
func TestNotebooks(t *testing.T) {
	r := setup(t)
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&study.Runner{Root: "..", Scale: scales.Smoke, Backend: b, Log: os.Stderr}).Reproduce(nil); err != nil {
		t.Fatal(err)
	}
	paths, err := notebook.List(".")
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("COTRAIN_NOTEBOOK_OUT")
	if out == "" {
		out = t.TempDir()
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".ipynb"), func(t *testing.T) {
			res, err := r.Execute(context.Background(), p, out)
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Err(); err != nil {
				t.Fatalf("cells failed:\n%v", err)
			}
			if res.Images == 0 {
				t.Errorf("%s displayed no figure", p)
			}
			// The committed outputs are what a reader on a code host sees: they must be those of the cache.
			diffs, err := notebook.Compare(p, res.Executed)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				t.Errorf("stale committed output (cotrain notebooks -update refreshes them): %s", d)
			}
			t.Logf("%s: %d figures in %s", p, res.Images, res.Duration)
		})
	}
}

// TestHarnessCatchesFailures runs a fixture with a compile error and a panic and checks that both are reported with
// the notebook's name, the cell's number and the message.
func TestHarnessCatchesFailures(t *testing.T) {
	r := setup(t)
	res, err := r.Execute(context.Background(), filepath.Join("testdata", "broken.ipynb"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 2 {
		t.Fatalf("want 2 failed cells (3 and 4), got %d: %v", len(res.Failures), res.Failures)
	}
	compile, panicked := res.Failures[0], res.Failures[1]
	if compile.Notebook != "broken.ipynb" || compile.Cell != 3 || !strings.Contains(compile.Message, "undefinedVariable") {
		t.Errorf("compile error reported as %v", compile)
	}
	if panicked.Cell != 4 || !strings.Contains(panicked.Message, "deliberate failure") {
		t.Errorf("panic reported as %v", panicked)
	}
	if res.Err() == nil {
		t.Error("Result.Err() is nil for a failing notebook")
	}
}
