package figures

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every figure's notebook cell ("NN_name.ipynb, In [k]") is a code cell of that committed notebook, executed k-th,
// that calls the figure's function; the table's names and files are unique.
func TestSpecsNameTheirNotebookCells(t *testing.T) {
	names, files := map[string]bool{}, map[string]bool{}
	cell := regexp.MustCompile(`In \[(\d+)\]`)
	for _, sp := range Specs {
		if names[sp.Name] || files[sp.File] || (sp.Figure == nil) == (sp.Text == nil) {
			t.Errorf("%s: a duplicate name or file, or not exactly one of Figure and Text", sp.Name)
		}
		names[sp.Name], files[sp.File] = true, true
		for _, ref := range strings.Split(sp.Notebook, ";") {
			ref = strings.TrimSpace(ref)
			if ref == "" {
				continue
			}
			file, cells, _ := strings.Cut(ref, ",")
			sources := codeCells(t, filepath.Join("..", "..", "notebooks", file))
			var text string
			for _, m := range cell.FindAllStringSubmatch(cells, -1) {
				var k int
				fmt.Sscan(m[1], &k)
				text += sources[k]
			}
			for _, fn := range strings.Split(sp.Function, ",") {
				if fn = strings.TrimSpace(fn); !strings.Contains(text, fn+"(") {
					t.Errorf("%s: %s (%s) does not call %s", sp.Name, file, cells, fn)
				}
			}
		}
	}
}

// codeCells maps the execution count of each code cell of a committed notebook to its source.
func codeCells(t *testing.T, file string) map[int]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var nb struct {
		Cells []struct {
			CellType       string   `json:"cell_type"`
			ExecutionCount *int     `json:"execution_count"`
			Source         []string `json:"source"`
		} `json:"cells"`
	}
	if err := json.Unmarshal(b, &nb); err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, c := range nb.Cells {
		if c.CellType == "code" && c.ExecutionCount != nil {
			out[*c.ExecutionCount] = strings.Join(c.Source, "")
		}
	}
	return out
}
