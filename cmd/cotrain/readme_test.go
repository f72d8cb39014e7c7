package main

import (
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's Layout section gives every package the first sentence of its doc comment, word for word, and leaves
// no package out.
func TestReadmeLayoutMatchesPackageDocs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Layout")
	if start < 0 {
		t.Fatal("README.md has no Layout section")
	}
	layout := text[start:]
	if end := strings.Index(layout[1:], "\n## "); end >= 0 {
		layout = layout[:end+1]
	}
	// Items: "- `path` text", continued on indented lines.
	items := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^- `([^`]+)` ((?:.*\n)(?:  .*\n)*)").FindAllStringSubmatch(layout, -1) {
		items[m[1]] = strings.Join(strings.Fields(m[2]), " ")
	}
	dirs, _ := filepath.Glob("../../pkg/*")
	dirs = append(dirs, "../../cmd/cotrain")
	for _, dir := range dirs {
		synopsis := packageSynopsis(t, dir)
		if synopsis == "" {
			continue
		}
		rel := strings.TrimPrefix(filepath.ToSlash(dir), "../../")
		want := regexp.MustCompile(`^(Package|Command) \S+ `).ReplaceAllString(synopsis, "")
		switch got, ok := items[rel]; {
		case !ok:
			t.Errorf("README Layout does not list %s (its doc: %q)", rel, synopsis)
		case got != want:
			t.Errorf("README Layout for %s:\n  %q\nits doc comment's first sentence:\n  %q", rel, got, want)
		}
	}
}

// packageSynopsis is the first sentence of the doc comment of the package in dir ("" if none).
func packageSynopsis(t *testing.T, dir string) string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			if f.Doc != nil {
				return new(doc.Package).Synopsis(f.Doc.Text())
			}
		}
	}
	return ""
}
