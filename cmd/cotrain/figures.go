package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/study"
)

func runFigures(args []string, stdout io.Writer) error {
	fs := newFlagSet("figures", `Regenerate every figure that the cache of the given scale supports and write them as PNG
files, with a provenance.json that records how they were made. Nothing is trained: missing results are reported.`, stdout)
	out := fs.String("out", "figures", "folder to write the figures into")
	scaleName := fs.String("scale", study.Mini.Name, "scale whose cache the figures come from: smoke, mini or paper")
	if err := parse(fs, args); err != nil {
		return err
	}
	scale, err := study.LookupScale(*scaleName)
	if err != nil {
		return usageError{err}
	}
	prov := provenance.New()
	type job struct {
		file  string
		build func() (figures.Figure, error)
	}
	jobs := []job{
		{"fig1_architecture.png", func() (figures.Figure, error) {
			return figures.Architecture(scale.Model, scale.Neurons, "simulated V1")
		}},
	}
	var written []string
	for _, j := range jobs {
		fig, err := j.build()
		if err != nil {
			return fmt.Errorf("%s: %w", j.file, err)
		}
		path := filepath.Join(*out, j.file)
		if err := fig.Save(path); err != nil {
			return err
		}
		written = append(written, j.file)
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return provenance.WriteJSON(filepath.Join(*out, "provenance.json"), struct {
		Scale      string             `json:"scale"`
		Files      []string           `json:"files"`
		Provenance *provenance.Record `json:"provenance"`
	}{scale.Name, written, prov.Finish()})
}
