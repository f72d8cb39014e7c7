package notebook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// VariesMarker in a code cell's source marks its output as varying from run to run (a measured time): Compare
// skips it.
const VariesMarker = "output varies"

// Difference is one code cell whose committed output differs from a fresh execution.
type Difference struct {
	Notebook string
	Cell     int // 1-based, among all cells
	What     string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s, cell %d: %s", d.Notebook, d.Cell, d.What)
}

// rawNotebook is a notebook as JSON, its cells kept whole.
type rawNotebook struct {
	Cells    []map[string]any `json:"cells"`
	Metadata map[string]any   `json:"metadata"`
	Format   int              `json:"nbformat"`
	Minor    int              `json:"nbformat_minor"`
}

func readRaw(path string) (*rawNotebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nb rawNotebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("%s: not notebook JSON: %w", path, err)
	}
	return &nb, nil
}

// text joins a notebook field that is a string or a list of strings.
func text(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		var b strings.Builder
		for _, s := range t {
			fmt.Fprint(&b, s)
		}
		return b.String()
	}
	return ""
}

// outputsOf is a cell's outputs reduced to what a reader sees: the stream texts and the data of every display, in
// order (execution counts, metadata and transient display ids left out).
func outputsOf(cell map[string]any) []string {
	outs, _ := cell["outputs"].([]any)
	var res []string
	for _, o := range outs {
		m, _ := o.(map[string]any)
		switch m["output_type"] {
		case "stream":
			res = append(res, fmt.Sprintf("%s: %s", m["name"], text(m["text"])))
		case "error":
			res = append(res, fmt.Sprintf("error: %s: %s", m["ename"], m["evalue"]))
		default:
			data, _ := m["data"].(map[string]any)
			var keys []string
			for k := range data {
				keys = append(keys, k)
			}
			sortStrings(keys)
			for _, k := range keys {
				res = append(res, k+": "+text(data[k]))
			}
		}
	}
	return res
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Compare lists the code cells of the committed notebook whose outputs differ from those of the executed copy
// (cells marked with VariesMarker excepted).
func Compare(committed, executed string) ([]Difference, error) {
	a, err := readRaw(committed)
	if err != nil {
		return nil, err
	}
	b, err := readRaw(executed)
	if err != nil {
		return nil, err
	}
	name := filepath.Base(committed)
	if len(a.Cells) != len(b.Cells) {
		return []Difference{{name, 0, fmt.Sprintf("%d cells committed, %d executed", len(a.Cells), len(b.Cells))}}, nil
	}
	var diffs []Difference
	for i := range a.Cells {
		if a.Cells[i]["cell_type"] != "code" || strings.Contains(text(a.Cells[i]["source"]), VariesMarker) {
			continue
		}
		x, y := outputsOf(a.Cells[i]), outputsOf(b.Cells[i])
		if len(x) != len(y) {
			diffs = append(diffs, Difference{name, i + 1, fmt.Sprintf("%d outputs committed, %d now", len(x), len(y))})
			continue
		}
		for k := range x {
			if x[k] != y[k] {
				diffs = append(diffs, Difference{name, i + 1, fmt.Sprintf("output %d differs: committed %q…, now %q…",
					k+1, clip(x[k], 120), clip(y[k], 120))})
				break
			}
		}
	}
	return diffs, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Update writes the executed copy's outputs into the committed notebook (its sources unchanged), without the
// timing metadata of the execution, so that a reader on a code host sees every figure.
func Update(committed, executed string) error {
	a, err := readRaw(committed)
	if err != nil {
		return err
	}
	b, err := readRaw(executed)
	if err != nil {
		return err
	}
	if len(a.Cells) != len(b.Cells) {
		return fmt.Errorf("%s: %d cells, the executed copy %d", committed, len(a.Cells), len(b.Cells))
	}
	for i, cell := range a.Cells {
		if cell["cell_type"] != "code" {
			continue
		}
		cell["outputs"] = b.Cells[i]["outputs"]
		cell["execution_count"] = b.Cells[i]["execution_count"]
		if md, ok := cell["metadata"].(map[string]any); ok {
			delete(md, "execution")
		}
	}
	if li, ok := b.Metadata["language_info"]; ok {
		a.Metadata["language_info"] = li
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(a); err != nil {
		return err
	}
	return provenance.WriteFileAtomic(committed, buf.Bytes())
}

var (
	requireTag = regexp.MustCompile(`<script[^>]*src="[^"]*require[^"]*"[^>]*>\s*</script>`)
	mathjaxTag = regexp.MustCompile(`(?s)<script[^>]*src="[^"]*MathJax[^"]*"[^>]*>\s*</script>`)
	mathjaxCfg = regexp.MustCompile(`(?s)<!-- MathJax configuration -->\s*<script type="text/x-mathjax-config">.*?</script>`)
)

// selfContained removes the scripts that nbconvert links as local files (Debian's require.js and MathJax 2), which
// break the pages anywhere else: require.js is not used by these notebooks, and MathJax, when a notebook has math,
// is replaced by MathJax 3 in one file (mathjax, the file's contents) inlined into the page.
func selfContained(html []byte, mathjax []byte) ([]byte, error) {
	html = requireTag.ReplaceAll(html, nil)
	hasMath := bytes.Contains(html, []byte("$")) || bytes.Contains(html, []byte(`\begin{`))
	html = mathjaxCfg.ReplaceAll(html, nil)
	if !mathjaxTag.Match(html) && !hasMath {
		return html, nil
	}
	if !hasMath {
		return mathjaxTag.ReplaceAll(html, nil), nil
	}
	if len(mathjax) == 0 {
		return nil, fmt.Errorf("the notebook has math but MathJax 3 is missing (npm install --prefix notebooks/browser)")
	}
	script := []byte(`<script>window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\(', '\\)']], displayMath: [['$$', '$$'], ['\\[', '\\]']], processEscapes: true}, svg: {fontCache: 'global'}};</script>` +
		"\n<script>" + string(mathjax) + "</script>")
	if mathjaxTag.Match(html) {
		return mathjaxTag.ReplaceAllLiteral(html, script), nil
	}
	return bytes.Replace(html, []byte("</head>"), append(script, []byte("</head>")...), 1), nil
}
