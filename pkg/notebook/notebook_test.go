package notebook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const executed = `{"cells": [
 {"cell_type": "markdown", "source": ["# title"]},
 {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR"}}]},
 {"cell_type": "code", "outputs": [
   {"output_type": "stream", "name": "stderr", "text": ["panic: boom\n", "goroutine 1\n"]},
   {"output_type": "error", "ename": "ERROR", "evalue": "exit status 2", "traceback": ["\u001b[31mexit status 2\u001b[0m"]}]},
 {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": {"text/html": "<div><svg></svg></div>"}}]}
]}`

func TestInspect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.ipynb")
	if err := os.WriteFile(path, []byte(executed), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 2 {
		t.Errorf("images = %d, want 2 (a PNG and an SVG shown as HTML)", res.Images)
	}
	if len(res.Failures) != 1 {
		t.Fatalf("failures = %v, want 1", res.Failures)
	}
	f := res.Failures[0]
	if f.Notebook != "x.ipynb" || f.Cell != 3 || !strings.Contains(f.Message, "panic: boom") || strings.Contains(f.Message, "\x1b") {
		t.Errorf("failure = %q", f)
	}
	if err := res.Err(); err == nil || !strings.Contains(err.Error(), "x.ipynb, cell 3") {
		t.Errorf("Err() = %v", err)
	}
}

func TestInspectRejectsInvalidJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.ipynb")
	os.WriteFile(path, []byte("{not json"), 0o644)
	if _, err := Inspect(path); err == nil || !strings.Contains(err.Error(), "bad.ipynb") {
		t.Errorf("err = %v, want an error naming the file", err)
	}
	if _, err := List(t.TempDir()); err == nil {
		t.Error("List of an empty folder should fail")
	}
}
