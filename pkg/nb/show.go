package nb

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"github.com/robustvision/cotrain/pkg/figures"
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

// ShowSource displays, as a Go code block, the declaration named name — a function, a method ("Type.Method") or a
// type — of the package in the folder dir under root (e.g. "pkg/train"), with its doc comment: the notebooks show the
// code that is the paper's method next to the sentence it implements.
func ShowSource(root, dir, name string) error {
	src, err := Source(filepath.Join(root, dir), name)
	if err != nil {
		return err
	}
	gonbui.DisplayMarkdown(fmt.Sprintf("`%s` — %s\n\n```go\n%s\n```", name, dir, src))
	gonbui.Sync()
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

// escape is html.EscapeString.
func escape(s string) string { return html.EscapeString(s) }
