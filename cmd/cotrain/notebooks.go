package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/robustvision/cotrain/pkg/notebook"
)

func runNotebooks(args []string, stdout io.Writer) error {
	fs := newFlagSet("notebooks", `Execute every notebook in -dir headlessly (Jupyter nbconvert with the GoNB kernel) and write
an executed .ipynb and a self-contained HTML copy of each into -out. Fails, naming the notebook, cell and message,
if any cell fails. With -update the outputs are also written into the notebooks themselves (so that a reader sees
them without running anything; the notebook test checks that they are current). Needs the set-up of .ci/setup
(Jupyter, GoNB, goimports, and MathJax for the HTML copies).`, stdout)
	dir := fs.String("dir", "notebooks", "folder with the notebooks")
	out := fs.String("out", filepath.Join("figures", "html"), "folder for the executed notebooks and their HTML copies")
	timeout := fs.Duration("timeout", 10*time.Minute, "time limit per cell")
	update := fs.Bool("update", false, "write the fresh outputs into the notebooks in -dir")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := inRepository(fs, "dir", "out"); err != nil {
		return err
	}
	paths, err := notebook.List(*dir)
	if err != nil {
		return usageError{err}
	}
	work, err := os.MkdirTemp("", "cotrain-notebooks-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	runner, err := notebook.Setup(work)
	if err != nil {
		return err
	}
	runner.Timeout = *timeout
	ctx := context.Background()
	var failed int
	for i, p := range paths {
		fmt.Fprintf(stdout, "[%d/%d] executing %s ... ", i+1, len(paths), p)
		res, err := runner.Execute(ctx, p, *out)
		if err != nil {
			return err
		}
		if err := res.Err(); err != nil {
			fmt.Fprintf(stdout, "FAILED (%s)\n%v\n", res.Duration.Round(time.Second), err)
			failed++
			continue
		}
		html, err := runner.HTML(ctx, res.Executed, *out)
		if err != nil {
			return err
		}
		if *update {
			if err := notebook.Update(p, res.Executed); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "ok in %s, %d figures → %s\n", res.Duration.Round(time.Second), res.Images, html)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notebooks failed", failed, len(paths))
	}
	return nil
}
