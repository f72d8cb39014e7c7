package notebook

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const fixture = `{"cells": [
 {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
 {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": ["fmt.Println(1)"]},
 {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [], "source": ["// output varies\nfmt.Println(time.Now())"]}
], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}`

func executedFixture(out1, out2 string) string {
	return `{"cells": [
 {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
 {"cell_type": "code", "execution_count": 1, "metadata": {"execution": {"iopub.execute_input": "now"}},
  "outputs": [{"output_type": "stream", "name": "stdout", "text": ["` + out1 + `"]}], "source": ["fmt.Println(1)"]},
 {"cell_type": "code", "execution_count": 2, "metadata": {},
  "outputs": [{"output_type": "stream", "name": "stdout", "text": ["` + out2 + `"]}], "source": ["// output varies\nfmt.Println(time.Now())"]}
], "metadata": {"language_info": {"name": "go"}}, "nbformat": 4, "nbformat_minor": 5}`
}

// Update writes an execution's outputs into a notebook without its timing metadata; Compare then finds it current,
// ignores the cell marked as varying, and names the cell whose output changed.
func TestUpdateAndCompare(t *testing.T) {
	dir := t.TempDir()
	nb, run1, run2 := filepath.Join(dir, "n.ipynb"), filepath.Join(dir, "run1.ipynb"), filepath.Join(dir, "run2.ipynb")
	os.WriteFile(nb, []byte(fixture), 0o644)
	os.WriteFile(run1, []byte(executedFixture("1", "10:00")), 0o644)
	os.WriteFile(run2, []byte(executedFixture("2", "11:00")), 0o644)
	if d, _ := Compare(nb, run1); len(d) != 1 || d[0].Cell != 2 {
		t.Errorf("a notebook without outputs against an execution: %v", d)
	}
	if err := Update(nb, run1); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(nb)
	if !strings.Contains(string(b), `"text"`) || strings.Contains(string(b), "iopub") {
		t.Errorf("updated notebook:\n%s", b)
	}
	if d, err := Compare(nb, run1); err != nil || len(d) != 0 {
		t.Errorf("after the update: %v, %v", d, err)
	}
	if d, _ := Compare(nb, run2); len(d) != 1 || d[0].Cell != 2 || !strings.Contains(d[0].String(), "n.ipynb, cell 2") {
		t.Errorf("a changed output: %v", d)
	}
}

// The HTML copy keeps no script linked from the local disk; MathJax 3 is inlined when the page has math.
func TestSelfContained(t *testing.T) {
	page := `<html><head><script src="file:///usr/share/javascript/requirejs/require.min.js"></script>
<!-- MathJax configuration -->
<script type="text/x-mathjax-config">MathJax.Hub.Config({});</script>
<script src="file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe"></script></head>
<body><p>$x^2$</p></body></html>`
	out, err := selfContained([]byte(page), []byte("/* mathjax 3 */"))
	if err != nil || strings.Contains(string(out), "file://") || !strings.Contains(string(out), "/* mathjax 3 */") {
		t.Errorf("with math:\n%s\n%v", out, err)
	}
	noMath := strings.Replace(page, "$x^2$", "x", 1)
	out, _ = selfContained([]byte(noMath), nil)
	if strings.Contains(string(out), "<script") {
		t.Errorf("without math, scripts remain:\n%s", out)
	}
	if _, err := selfContained([]byte(page), nil); err == nil {
		t.Error("math without MathJax 3 was accepted")
	}
}

// An HTML copy of a notebook with formulas renders them in Chromium from a folder of its own, with no network and
// nothing of the machine's (no file:// script: no Debian MathJax needed). Skipped where Jupyter or Chromium is missing.
func TestHTMLRendersFormulasOffline(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium (.ci/setup installs it)")
	}
	if _, err := os.Stat(MathJaxFile()); err != nil {
		t.Skip("no MathJax 3 (.ci/setup installs it)")
	}
	r, err := Setup(t.TempDir())
	if err != nil {
		t.Skipf("no Jupyter: %v", err)
	}
	dir := t.TempDir()
	page, err := r.HTML(context.Background(), "../../notebooks/04_analysis.ipynb", dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(page)
	if strings.Contains(string(b), "file://") {
		t.Errorf("%s links a file of this machine", page)
	}
	out, err := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
		"--virtual-time-budget=20000", "--dump-dom", "file://"+page).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if n := strings.Count(string(out), "<mjx-container"); n < 5 {
		t.Errorf("%d formulas rendered by MathJax in %s, want the notebook's", n, page)
	}
}
