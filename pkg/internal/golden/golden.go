// Package golden pins the numbers a package computes to that package's Version, so that a change of code that
// changes them cannot leave results in the cache that the code no longer makes.
//
// Each package whose numbers reach the study's cache (pkg/data, pkg/models, pkg/train, pkg/corrupt, pkg/eval,
// pkg/v1sim, pkg/recon, pkg/saliency, pkg/analysis) declares a Version, which is part of the key of every stage
// whose outputs it computes (pkg/study). Its golden test computes a few numbers on a fixed small input and calls
// Check: when they differ from testdata/golden.json while Version is the one recorded there, the test fails and
// says to change Version (every cached stage made from the package then counts as stale) and to record the new
// numbers with `go test -run Golden -update`.
package golden

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "record the golden numbers of this package's Version in testdata/golden.json")

// File is where a package's golden numbers are recorded, relative to its folder.
const File = "testdata/golden.json"

// record is testdata/golden.json.
type record struct {
	Version string             `json:"version"`
	Values  map[string]float64 `json:"values"`
}

// Check compares values with those recorded for version; tol is the relative tolerance (0: exact), for numbers
// whose last bits depend on the machine's BLAS kernels.
func Check(t testing.TB, version string, values map[string]float64, tol float64) {
	t.Helper()
	for k, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("golden value %s = %v is not finite", k, v)
		}
	}
	if *update {
		b, err := json.MarshalIndent(record{Version: version, Values: values}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(File), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(File, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %d golden numbers for version %s in %s", len(values), version, File)
		return
	}
	b, err := os.ReadFile(File)
	if err != nil {
		t.Fatalf("%v: record the golden numbers with go test -run Golden -update", err)
	}
	var want record
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", File, err)
	}
	if diff := Diff(want.Values, values, tol); diff != "" {
		if want.Version == version {
			t.Fatalf("the numbers of this package changed while its Version stayed %q:\n%s\nchange Version (cached "+
				"results made by the old code then count as stale) and run go test -run Golden -update", version, diff)
		}
		t.Fatalf("Version is %q, the golden numbers are version %q's:\n%s\nrun go test -run Golden -update", version,
			want.Version, diff)
	}
	if want.Version != version {
		t.Fatalf("Version changed from %q to %q but the numbers did not: keep %q (a new version makes every cached "+
			"result stale), or run go test -run Golden -update if the change is meant", want.Version, version, want.Version)
	}
}

// Hash folds bytes into a float64 that a golden file records exactly (48 bits of their SHA-256).
func Hash(b []byte) float64 {
	sum := sha256.Sum256(b)
	var v uint64
	for _, c := range sum[:6] {
		v = v<<8 | uint64(c)
	}
	return float64(v)
}

// Diff lists the values that differ between want and got beyond the relative tolerance tol (empty: none).
func Diff(want, got map[string]float64, tol float64) string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	var out string
	for _, k := range names {
		w, okW := want[k]
		g, okG := got[k]
		switch {
		case !okW:
			out += fmt.Sprintf("  %s: new (%v)\n", k, g)
		case !okG:
			out += fmt.Sprintf("  %s: gone (was %v)\n", k, w)
		case math.Abs(w-g) > tol*math.Max(math.Abs(w), math.Abs(g)) && w != g:
			out += fmt.Sprintf("  %s: %v, was %v\n", k, g, w)
		}
	}
	return out
}
