package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpListsCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-h"}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain -h exited %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), c.name) {
			t.Errorf("cotrain -h does not list %q", c.name)
		}
	}
	out.Reset()
	if code := run([]string{"figures", "-h"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "-scale") {
		t.Errorf("cotrain figures -h: exit %d, output %q", code, out.String())
	}
}

func TestBadInputIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"nonsense"}, {"figures", "-scale", "huge"}, {"version", "-nope"}, {"figures", "extra"}, {}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 {
			t.Errorf("cotrain %q exited %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"version", "-backend", "tpu"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "accepted values") {
		t.Errorf("cotrain version -backend tpu: exit %d, stderr %q", code, errOut.String())
	}
}

func TestVersionReportsPureGoBackend(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain version exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "SimpleGo") || !strings.Contains(out.String(), "self-test passed") {
		t.Errorf("cotrain version output:\n%s", out.String())
	}
}

func TestFiguresWritesFilesAndProvenance(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run([]string{"figures", "-scale", "smoke", "-out", dir}, &out, &errOut); code != 0 {
		t.Fatalf("cotrain figures exited %d: %s", code, errOut.String())
	}
	for _, f := range []string{"fig1_architecture.png", "provenance.json"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}
