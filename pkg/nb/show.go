package nb

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/calibrate"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
)

// Show displays a figure in the notebook (a PNG), or returns the error that made it impossible; a figure that fails
// figures.Figure.Check (a legend over data, text too small to read) is an error too.
func Show(fig figures.Figure, err error) error {
	if err != nil {
		return err
	}
	if err := fig.Check(); err != nil {
		return fmt.Errorf("unreadable figure: %w", err)
	}
	png, err := fig.PNG()
	if err != nil {
		return err
	}
	gonbui.DisplayPNG(png)
	gonbui.Sync()
	return nil
}

// ShowTable displays a table.
func ShowTable(t figures.Table) {
	gonbui.DisplayHTML(t.HTML())
	gonbui.Sync()
}

// ShowSource displays the declaration named name — a function, a method ("Type.Method") or a type — of the package
// in the folder dir under root (e.g. "pkg/train"), with its doc comment, folded: a line that names it, which opens on
// a click to the code. The notebooks show the code that is the paper's method next to the sentence it implements,
// without putting screens of code before the results.
func ShowSource(root, dir, name string) error {
	src, err := Source(filepath.Join(root, dir), name)
	if err != nil {
		return err
	}
	lines := strings.Count(src, "\n") + 1
	gonbui.DisplayHTML(fmt.Sprintf(`<details class="cotrain-source"><summary>the code: <code>%s</code> in %s `+
		`(%d lines; click to open)</summary><pre style="font-size:85%%">%s</pre></details>`, escape(name), escape(dir),
		lines, escape(src)))
	gonbui.Sync()
	return nil
}

// Findings is the Findings table of the runner's study from its verified cache: Section 3's rows, Section 4's
// where the scale has the analysis and the appendix's where it has the resolution search (a stale or missing
// result that the scale's study has is an error naming the stage), with a column for the gpu scale (its estimates
// and verdicts where its study has run, "not run" otherwise).
func Findings(r *study.Runner) (figures.Table, error) {
	res, err := r.LoadRobustness()
	if err != nil {
		return figures.Table{}, err
	}
	var a *analysis.Result
	if r.Scale.ReconSteps > 0 {
		if a, err = r.LoadAnalysis(); err != nil {
			return figures.Table{}, err
		}
	}
	points, err := r.ResolutionResults()
	if err != nil && !errors.Is(err, results.ErrNotInStudy) {
		return figures.Table{}, err
	}
	t := figures.Findings(res, a, points)
	addGPUColumn(&t, r)
	return t, nil
}

// SectionFindings is the Findings table's rows on Section 3 (robustness) of the runner's study, with the gpu
// scale's column.
func SectionFindings(r *study.Runner) (figures.Table, error) {
	res, err := r.LoadRobustness()
	if err != nil {
		return figures.Table{}, err
	}
	t := figures.Findings(res, nil, nil)
	addGPUColumn(&t, r)
	return t, nil
}

// addGPUColumn adds the gpu scale's column to a Findings table of another scale: its estimates and verdicts where
// its study has run, "not run" otherwise.
func addGPUColumn(t *figures.Table, r *study.Runner) {
	if r.Scale.Name == scales.GPU.Name {
		return
	}
	gpu, err := (&study.Runner{Root: r.Root, Scale: scales.GPU}).LoadRobustness()
	if err != nil {
		gpu = nil
	}
	figures.AddScaleColumn(t, scales.GPU.Name, gpu)
}

// ShowScale shows another scale's Section 3 results (Fig. 2, 3A, 3B and 8 from its verified cache) where its study
// has run, and otherwise says how far it is: how many of its stages are done, and where it is described.
func ShowScale(root string, s scales.Scale) error {
	r := &study.Runner{Root: root, Scale: s}
	res, err := r.LoadRobustness()
	if err != nil {
		status, serr := r.Status()
		if serr != nil {
			return serr
		}
		done := 0
		for _, st := range status {
			if st.State == study.Done || st.State == study.OnDemand {
				done++
			}
		}
		gonbui.DisplayHTML(fmt.Sprintf("<p>The %s scale's study has not run to the end in this cache: %d of its %d "+
			"stages are done (<code>cotrain status -scale %s</code>; docs/gpu.md says how it runs on a lent GPU). "+
			"Its figures and its column of the Findings appear here once it has.</p>", html.EscapeString(s.Name), done,
			len(status), html.EscapeString(s.Name)))
		gonbui.Sync()
		return nil
	}
	for _, fig := range []func(*eval.Robustness) (figures.Figure, error){figures.Fig2, figures.Fig3A, figures.Fig3B, figures.Fig8} {
		if err := Show(fig(res)); err != nil {
			return err
		}
	}
	return nil
}

// ShowOracleSameStep shows the comparison of the Oracle's first stage with the Baseline at the same step that
// `cotrain calibrate -same-step` wrote into the runner's cache (a figure and its table), or says how to make it where
// the cache has none: the comparison is a calibration, not a stage of the study, and a scale may lack it.
func ShowOracleSameStep(r *study.Runner) error {
	runs, err := calibrate.CachedSameSteps(r)
	if errors.Is(err, fs.ErrNotExist) {
		gonbui.DisplayHTML(fmt.Sprintf("<p>The %s scale's cache has no same-step comparison of the Oracle with the "+
			"Baseline; <code>cotrain calibrate -same-step -scale %s</code> makes it.</p>", html.EscapeString(r.Scale.Name),
			html.EscapeString(r.Scale.Name)))
		gonbui.Sync()
		return nil
	}
	if err != nil {
		return err
	}
	if err := Show(figures.OracleSameStep(r.Scale.Name, runs)); err != nil {
		return err
	}
	t, err := figures.OracleSameStepTable(r.Scale.Name, runs)
	if err != nil {
		return err
	}
	ShowTable(t)
	return nil
}

// Source returns the text of the declaration named name in the package in dir, with its doc comment.
func Source(dir, name string) (string, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	recv, fn, isMethod := strings.Cut(name, ".")
	if !isMethod {
		fn = recv
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		f, err := parser.ParseFile(fset, file, text, parser.ParseComments)
		if err != nil {
			return "", err
		}
		for _, decl := range f.Decls {
			var doc *ast.CommentGroup
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Name.Name != fn || isMethod != (d.Recv != nil) || isMethod && receiverName(d) != recv {
					continue
				}
				doc = d.Doc
			case *ast.GenDecl:
				found := false
				for _, spec := range d.Specs {
					if ts, ok := spec.(*ast.TypeSpec); ok && !isMethod && ts.Name.Name == fn {
						found = true
					}
				}
				if !found {
					continue
				}
				doc = d.Doc
			default:
				continue
			}
			start := decl.Pos()
			if doc != nil {
				start = doc.Pos()
			}
			return string(text[fset.Position(start).Offset:fset.Position(decl.End()).Offset]), nil
		}
	}
	return "", fmt.Errorf("no declaration %q in %s", name, dir)
}

func receiverName(d *ast.FuncDecl) string {
	t := d.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if idx, ok := t.(*ast.IndexExpr); ok {
		t = idx.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// imageTag is an <img> with the PNG inline.
func imageTag(png []byte, width string) string {
	var b bytes.Buffer
	b.WriteString(`<img style="max-width:100%;image-rendering:pixelated;width:` + width + `" src="data:image/png;base64,`)
	b.WriteString(base64.StdEncoding.EncodeToString(png))
	b.WriteString(`">`)
	return b.String()
}

// tileTag is a reconstruction shown large and smooth (the browser's interpolation), with the class the browser test
// looks for.
func tileTag(png []byte, width string) string {
	return `<img class="cotrain-tile" style="max-width:100%;width:` + width + `" src="data:image/png;base64,` +
		base64.StdEncoding.EncodeToString(png) + `">`
}

// escape is html.EscapeString.
func escape(s string) string { return html.EscapeString(s) }
