// Package notebook executes the project's GoNB Jupyter notebooks headlessly and reports the cells that failed.
//
// It drives `jupyter nbconvert --execute` with a private GoNB kernel spec that asks GoNB for raw-text errors
// (`-raw_error`), so compiler messages and panics land in the executed notebook as plain text that can be quoted
// back to the user with the notebook's name and the cell's number. The notebook test and `cotrain notebooks` (the
// README's main job) share it.
package notebook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// KernelName is the Jupyter kernel every notebook of this project declares in its metadata.
const KernelName = "gonb"

// Runner executes notebooks.
type Runner struct {
	Timeout time.Duration // per cell; 0 means 10 minutes
	workDir string        // holds the private kernel spec
	path    string        // PATH for Jupyter and the kernel: go, goimports and gonb must be on it
}

// Setup prepares a Runner: it finds jupyter, gonb, go and goimports and writes a private GoNB kernel spec
// (with raw errors) under workDir. The error says what is missing and how to install it.
func Setup(workDir string) (*Runner, error) {
	r := &Runner{workDir: workDir}
	path := os.Getenv("PATH")
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, p := range filepath.SplitList(strings.TrimSpace(string(gopath))) {
			path += string(os.PathListSeparator) + filepath.Join(p, "bin")
		}
	}
	r.path = path
	var missing []string
	need := map[string]string{
		"jupyter":   "Debian packages jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client",
		"gonb":      "`go install tool` in the repository (GoNB is a tool dependency in go.mod)",
		"goimports": "go install golang.org/x/tools/cmd/goimports@v0.52.0",
		"go":        "Go 1.26 from https://go.dev/dl/ (or /usr/local/go/bin on PATH)",
	}
	found := map[string]string{}
	for _, tool := range []string{"jupyter", "gonb", "goimports", "go"} {
		p, err := lookPath(tool, path)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (install: %s)", tool, need[tool]))
			continue
		}
		found[tool] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("cannot execute notebooks, missing: %s; `bash .ci/setup` installs all of them",
			strings.Join(missing, "; "))
	}
	if out, err := exec.Command(found["jupyter"], "nbconvert", "--version").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot execute notebooks: `jupyter nbconvert --version` failed (%v): %s; install the "+
			"Debian packages jupyter-nbconvert and python3-nbclient (`bash .ci/setup`)", err, bytes.TrimSpace(out))
	}
	spec := map[string]any{
		"argv": []string{found["gonb"], "--kernel", "{connection_file}", "-raw_error=true", "-logtostderr=true",
			"-alsologtostderr=false", "-v=0"},
		"display_name":   "Go (gonb, raw errors)",
		"language":       "go",
		"interrupt_mode": "message",
		"env":            map[string]string{"PATH": path, "COTRAIN_HEADLESS": "1"},
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(workDir, "jupyter", "kernels", KernelName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel.json"), data, 0o644); err != nil {
		return nil, err
	}
	return r, nil
}

func lookPath(tool, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, tool)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if tool == "go" {
		if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
			return "/usr/local/go/bin/go", nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", tool)
}

// Failure is one cell that produced an error output.
type Failure struct {
	Notebook string // file name of the notebook
	Cell     int    // 1-based index among all cells (markdown included), as Jupyter shows them top to bottom
	Message  string // the error's name, value and traceback as plain text
}

func (f Failure) String() string {
	return fmt.Sprintf("%s, cell %d: %s", f.Notebook, f.Cell, f.Message)
}

// Result is what executing one notebook produced.
type Result struct {
	Executed string    // path of the executed copy (.ipynb with outputs)
	Failures []Failure // cells with error outputs, in order
	Images   int       // number of image outputs (image/png, image/svg+xml)
	Duration time.Duration
}

// Execute runs every cell of the notebook at path and writes the executed copy into outDir. Cell errors do not stop
// the run: they are collected in Result.Failures. An error is returned only when the notebook could not be run at all.
func (r *Runner) Execute(ctx context.Context, path, outDir string) (Result, error) {
	start := time.Now()
	abs, err := filepath.Abs(path)
	if err != nil {
		return Result{}, err
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return Result{}, err
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	cmd := exec.CommandContext(ctx, "jupyter", "nbconvert", "--to", "notebook", "--execute", "--allow-errors",
		fmt.Sprintf("--ExecutePreprocessor.timeout=%d", int(timeout.Seconds())),
		"--ExecutePreprocessor.kernel_name="+KernelName,
		"--output-dir", outDir, abs)
	cmd.Dir = filepath.Dir(abs)
	// COTRAIN_HEADLESS tells notebooks that no browser runs their widgets (they use default values instead).
	cmd.Env = append(os.Environ(), "PATH="+r.path, "JUPYTER_PATH="+filepath.Join(r.workDir, "jupyter"), "COTRAIN_HEADLESS=1")
	out, err := cmd.CombinedOutput()
	executed := filepath.Join(outDir, strings.TrimSuffix(filepath.Base(abs), ".ipynb")+".ipynb")
	if err != nil {
		return Result{}, fmt.Errorf("executing notebook %s: %v\n%s", path, err, tail(out, 4000))
	}
	res, err := Inspect(executed)
	res.Duration = time.Since(start)
	return res, err
}

// HTML converts an (executed) notebook to a self-contained HTML file in outDir and returns its path: images
// embedded, no script linked from the local disk (selfContained), MathJax 3 inlined when the notebook has math. The
// MathJax file is $COTRAIN_MATHJAX, else notebooks/browser/node_modules/mathjax/es5/tex-svg-full.js (npm install
// --prefix notebooks/browser; .ci/setup does it).
func (r *Runner) HTML(ctx context.Context, path, outDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "jupyter", "nbconvert", "--to", "html", "--output-dir", outDir, path)
	cmd.Env = append(os.Environ(), "PATH="+r.path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("converting %s to HTML: %v\n%s", path, err, tail(out, 2000))
	}
	file := filepath.Join(outDir, strings.TrimSuffix(filepath.Base(path), ".ipynb")+".html")
	html, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	mathjax, _ := os.ReadFile(MathJaxFile())
	if html, err = selfContained(html, mathjax); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return file, os.WriteFile(file, html, 0o644)
}

// MathJaxFile is where HTML finds MathJax 3.
func MathJaxFile() string {
	if f := os.Getenv("COTRAIN_MATHJAX"); f != "" {
		return f
	}
	root := "."
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "notebooks", "browser", "package.json")); err == nil {
				root = dir
				break
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return filepath.Join(root, "notebooks", "browser", "node_modules", "mathjax", "es5", "tex-svg-full.js")
}

type nbFile struct {
	Cells []struct {
		CellType string `json:"cell_type"`
		Outputs  []struct {
			OutputType string          `json:"output_type"`
			Name       string          `json:"name"`
			Text       json.RawMessage `json:"text"`
			EName      string          `json:"ename"`
			EValue     string          `json:"evalue"`
			Traceback  []string        `json:"traceback"`
			Data       map[string]any  `json:"data"`
		} `json:"outputs"`
	} `json:"cells"`
}

// Inspect reads an executed notebook and lists its failed cells and counts its images.
func Inspect(path string) (Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("reading executed notebook: %w", err)
	}
	var nb nbFile
	if err := json.Unmarshal(data, &nb); err != nil {
		return Result{}, fmt.Errorf("executed notebook %s is not valid notebook JSON: %w", path, err)
	}
	res := Result{Executed: path}
	name := filepath.Base(path)
	for i, cell := range nb.Cells {
		var stderr strings.Builder // a panic's message reaches the notebook as stderr before the error output
		for _, o := range cell.Outputs {
			switch o.OutputType {
			case "stream":
				if o.Name == "stderr" {
					stderr.WriteString(streamText(o.Text))
				}
			case "error":
				msg := strings.TrimSpace(o.EName + ": " + o.EValue)
				if tb := stripANSI(strings.Join(o.Traceback, "\n")); tb != "" && !strings.Contains(msg, tb) {
					msg += "\n" + tb
				}
				if e := stripANSI(stderr.String()); e != "" {
					msg += "\nstderr:\n" + tail([]byte(e), 4000)
				}
				res.Failures = append(res.Failures, Failure{Notebook: name, Cell: i + 1, Message: msg})
			case "display_data", "execute_result":
				for mime := range o.Data {
					if strings.HasPrefix(mime, "image/") {
						res.Images++
					}
					// GoNB shows SVG through text/html.
					if mime == "text/html" {
						if s, ok := o.Data[mime].(string); ok && strings.Contains(s, "<svg") {
							res.Images++
						} else if l, ok := o.Data[mime].([]any); ok && strings.Contains(fmt.Sprint(l...), "<svg") {
							res.Images++
						}
					}
				}
			}
		}
	}
	return res, nil
}

// Err returns an error listing the failures, or nil if there are none.
func (r Result) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	var lines []string
	for _, f := range r.Failures {
		lines = append(lines, f.String())
	}
	return errors.New(strings.Join(lines, "\n"))
}

// streamText decodes a notebook stream's text, stored either as one string or as a list of lines.
func streamText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "")
	}
	return ""
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return strings.TrimSpace(b.String())
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// List returns the notebooks (*.ipynb) directly in dir, sorted by name.
func List(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.ipynb"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no notebooks (*.ipynb) in %s", dir)
	}
	return paths, nil
}
