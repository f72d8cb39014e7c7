package study

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
)

// The cache cannot lie (the reliability issue's cases), on a scratch cache of the smoke scale's recording and the
// noise-free targets made from it: a damaged file makes its stage stale, with the file named, and what was made from
// it, and a rerun that writes the same files makes what was made from them done again; a recording of another seed written by `cotrain v1sim`
// makes the recording and what was made from it stale; a damaged or implausible stage.json affects only its stage;
// nothing to do takes no lock.
func TestStatusCatchesDamage(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := &Runner{Root: t.TempDir(), Scale: scales.Smoke, Backend: b, Log: &log}
	const targets = "targets/noisefree"
	if err := r.Reproduce([]string{targets}); err != nil {
		t.Fatal(err)
	}
	state := func() map[string]StageStatus {
		t.Helper()
		status, err := r.Status()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]StageStatus{}
		for _, s := range status {
			out[s.ID] = s
		}
		return out
	}
	if s := state(); s[V1Stage].State != Done || s[targets].State != Done {
		t.Fatalf("after reproduce: %s %s", s[V1Stage].State, s[targets].State)
	}
	// A truncated file of the recording.
	images := filepath.Join(r.Dir(V1Stage), "images.npy")
	os.Truncate(images, 100)
	s := state()
	if s[V1Stage].State != Stale || !strings.Contains(s[V1Stage].Problem, "images.npy") || s[targets].State != Stale ||
		!strings.Contains(s[targets].Problem, V1Stage) {
		t.Errorf("truncated images.npy: %s (%s), targets %s", s[V1Stage].State, s[V1Stage].Problem, s[targets].State)
	}
	// Reproduce re-simulates it, bit for bit, and the targets made from it are checked again and kept.
	log.Reset()
	if err := r.Reproduce([]string{targets}); err != nil {
		t.Fatal(err)
	}
	if s := state(); s[V1Stage].State != Done || s[targets].State != Done || !strings.Contains(log.String(), "unchanged") {
		t.Errorf("after the repair: %s %s; log:\n%s", s[V1Stage].State, s[targets].State, log.String())
	}
	// Nothing to do: nothing is locked or written (a read-only cache can be checked).
	before := snapshotTimes(t, r.Dir(""))
	if err := r.Reproduce([]string{targets}); err != nil {
		t.Fatal(err)
	}
	if after := snapshotTimes(t, r.Dir("")); !maps.Equal(before, after) {
		t.Error("a reproduce with nothing to do wrote into the cache")
	}
	// A recording of another seed (cotrain v1sim -seed 2): it and what was made from the previous one are stale.
	if _, err := r.RecordV1(2, nil); err != nil {
		t.Fatal(err)
	}
	s = state()
	if s[V1Stage].State != Stale || s[targets].State != Stale || !strings.Contains(s[targets].Problem, V1Stage) {
		t.Errorf("after v1sim -seed 2: %s (%s), targets %s (%s)", s[V1Stage].State, s[V1Stage].Problem,
			s[targets].State, s[targets].Problem)
	}
	// A damaged stage.json, and an impossible result: only that stage is stale, and status still works.
	recFile := filepath.Join(r.Dir(targets), record.FileName)
	for _, content := range []string{`{"key": `, `{"key": "x", "results": {"test_acc": 7.5}}`} {
		os.WriteFile(recFile, []byte(content), 0o644)
		s = state()
		if s[targets].State != Stale || !strings.Contains(s[targets].Problem, recFile) {
			t.Errorf("stage.json %q: %s (%s)", content, s[targets].State, s[targets].Problem)
		}
	}
}

// snapshotTimes maps every file under dir to its modification time.
func snapshotTimes(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				out[path] = info.ModTime()
			}
		}
		return err
	})
	return out
}
