package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/robustvision/cotrain/pkg/calibrate"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/results"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/study"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// inputLoader loads what the chosen figures need from the cache of one scale: results of done stages only (the
// runner's verified readers), the photograph of Fig. 9, and the paper-scale simulation. A result it cannot load is
// recorded in Inputs.Missing with the reason (typically a *study.NotDoneError naming the stage).
type inputLoader struct {
	runner             *study.Runner
	manifest, photoDir string
	stdout             io.Writer
}

func (l inputLoader) load(needs []figures.Need) *figures.Inputs {
	in := &figures.Inputs{Scale: l.runner.Scale, Missing: map[figures.Need]error{}}
	for _, n := range needs {
		var err error
		switch n {
		case figures.NeedModels:
			if in.Models, err = l.runner.ModelResults(); err == nil && (len(in.Models) == 0 || in.Models[0].Seeds == 0) {
				in.Models, err = nil, fmt.Errorf("no trained models in the %s cache (cotrain reproduce -scale %s)",
					l.runner.Scale.Name, l.runner.Scale.Name)
			}
		case figures.NeedRobustness:
			in.Robustness, err = l.runner.LoadRobustness()
		case figures.NeedAnalysis:
			if l.runner.Scale.ReconSteps == 0 {
				err = fmt.Errorf("the %s scale reconstructs nothing (Scale.ReconSteps): %w", l.runner.Scale.Name,
					results.ErrNotInStudy)
			} else {
				in.Analysis, err = l.runner.LoadAnalysis()
			}
		case figures.NeedResolution:
			in.Resolution, err = l.runner.ResolutionResults()
		case figures.NeedSameStep:
			if in.SameStep, err = calibrate.CachedSameSteps(l.runner); errors.Is(err, fs.ErrNotExist) {
				err = fmt.Errorf("%v: %w", err, results.ErrNotInStudy) // a calibration run, not a stage
			}
		case figures.NeedPhoto:
			var img corrupt.Image
			if img, err = l.corruptionImage(); err == nil {
				in.Photo = &img
			}
		case figures.NeedPaperV1:
			in.PaperV1, err = l.paperV1()
		case figures.NeedGPU:
			gpu := &study.Runner{Root: l.runner.Root, Scale: scales.GPU}
			if res, gerr := gpu.LoadRobustness(); gerr == nil {
				in.GPU = res // else the gpu scale has not run: its column says so
			}
		}
		if err != nil {
			in.Missing[n] = err
		}
	}
	return in
}

// corruptionImage is the photograph of Fig. 9, in colour, 64×64.
func (l inputLoader) corruptionImage() (corrupt.Image, error) {
	photos, err := data.LoadManifest(l.manifest)
	if err != nil {
		return corrupt.Image{}, err
	}
	p, err := data.FindPhoto(photos, figures.CorruptionPhoto)
	if err != nil {
		return corrupt.Image{}, err
	}
	pix, err := data.RGBPatch(p, l.photoDir, 64)
	return corrupt.Image{H: 64, W: 64, C: 3, Pix: pix}, err
}

// paperV1 simulates the virtual monkey at paper scale on the photographs, in memory, and prints its summary.
func (l inputLoader) paperV1() ([]neural.NeuronStats, error) {
	photos, err := data.LoadManifest(l.manifest)
	if err != nil {
		return nil, err
	}
	imgs, err := data.LoadPhotos(photos, l.photoDir)
	if err != nil {
		return nil, err
	}
	d, _, err := v1sim.Simulate(imgs, scales.Paper.V1, v1sim.DefaultPopulation, study.V1Seed)
	if err != nil {
		return nil, err
	}
	stats := d.Stats()
	fmt.Fprint(l.stdout, neural.Summary(d, stats))
	return stats, nil
}

// figuresProvenance is figures/provenance.json: how each file was made and from which scale's cache. A file whose
// bytes a run leaves unchanged keeps its record, so that regenerating a figure that did not change leaves the
// repository clean.
type figuresProvenance struct {
	Scale string                   `json:"scale"` // the scale of the last run
	Files map[string]*figureRecord `json:"files"`
}

// figureRecord is one file's record: the scale its results came from, and how it was made.
type figureRecord struct {
	Scale string `json:"scale,omitempty"`
	*provenance.Record
}

func runFigures(args []string, stdout io.Writer) error {
	fs := newFlagSet("figures", `Regenerate the figures and tables from the cache of a scale and write them (PNG, Markdown) into a
folder, with a provenance.json that records how each file was made. Nothing is trained, and only stages that
"cotrain status" calls done are read: a figure whose result is stale or missing is an error naming the stage
(-skip-missing skips it and says so); one whose experiment the scale does not run is skipped. The files are made in
a temporary folder and moved into place one by one, each with its record: an interrupted run leaves every file
either as it was or new, and provenance.json true. A file whose bytes did not change is left alone. -only makes
named figures alone, in seconds; -list names them.`, stdout)
	out := fs.String("out", "figures", "folder to write the figures into")
	scaleName := fs.String("scale", scales.Mini.Name, "scale whose cache the figures come from: smoke, mini, gpu or paper")
	skipSlow := fs.Bool("quick", false, "skip the figures that simulate at paper scale (about a minute)")
	skipMissing := fs.Bool("skip-missing", false, "skip, with a message, the figures whose results are stale or missing")
	only := fs.String("only", "", "comma-separated names of the figures to make (see -list), e.g. fig3c,table1")
	list := fs.Bool("list", false, "list the figures: name, file, the function that draws it, the notebook cell that shows it")
	manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
	photoDir := fs.String("photos-dir", scales.PhotoDir, "where 'cotrain data fetch' keeps the photographs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list {
		return listFigures(stdout)
	}
	scale, err := scales.Lookup(*scaleName)
	if err != nil {
		return usageError{err}
	}
	root, err := inRepository(fs, "out", "manifest", "photos-dir")
	if err != nil {
		return err
	}
	specs, err := selectFigures(*only, *skipSlow)
	if err != nil {
		return usageError{err}
	}
	var needs []figures.Need
	for _, sp := range specs {
		for _, n := range sp.Needs {
			if !slices.Contains(needs, n) {
				needs = append(needs, n)
			}
		}
	}
	in := inputLoader{runner: &study.Runner{Root: root, Scale: scale}, manifest: *manifest, photoDir: *photoDir,
		stdout: stdout}.load(needs)
	prov := provenance.New()
	made := map[string][]byte{}
	var order []string
	for _, sp := range specs {
		b, err := drawFigure(sp, in)
		if err != nil {
			if errors.Is(err, results.ErrNotInStudy) || *skipMissing && errors.Is(err, results.ErrMissing) {
				fmt.Fprintf(stdout, "skipping %s (%s): %v\n", sp.Name, sp.File, err)
				continue
			}
			return fmt.Errorf("%s (%s): %w", sp.Name, sp.File, err)
		}
		made[sp.File] = b
		order = append(order, sp.File)
	}
	return placeFigures(*out, scale.Name, order, made, prov.Finish(), stdout)
}

// listFigures prints the table of figures.
func listFigures(stdout io.Writer) error {
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "name\tfile\tfunction (pkg/figures)\tnotebook\twhat\n")
	for _, sp := range figures.Specs {
		nbCell := sp.Notebook
		if nbCell == "" {
			nbCell = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", sp.Name, sp.File, sp.Function, nbCell, sp.What)
	}
	return w.Flush()
}

// selectFigures returns the figures named in only (all when empty), refusing unknown names.
func selectFigures(only string, skipSlow bool) ([]figures.Spec, error) {
	if only == "" {
		var out []figures.Spec
		for _, sp := range figures.Specs {
			if !(skipSlow && sp.Slow) {
				out = append(out, sp)
			}
		}
		return out, nil
	}
	var names []string
	for _, sp := range figures.Specs {
		names = append(names, sp.Name)
	}
	var out []figures.Spec
	for _, name := range strings.Split(only, ",") {
		i := slices.Index(names, strings.ToLower(strings.TrimSpace(name)))
		if i < 0 {
			return nil, fmt.Errorf("-only: no figure %q: want one of %s", name, strings.Join(names, ", "))
		}
		out = append(out, figures.Specs[i])
	}
	return out, nil
}

// drawFigure makes one output's bytes: a checked PNG, or Markdown.
func drawFigure(sp figures.Spec, in *figures.Inputs) ([]byte, error) {
	if sp.Text != nil {
		text, err := sp.Text(in)
		return []byte(text), err
	}
	fig, err := sp.Figure(in)
	if err != nil {
		return nil, err
	}
	if err := fig.Check(); err != nil {
		return nil, fmt.Errorf("unreadable figure: %w", err)
	}
	return fig.PNG()
}

// placeFigures writes the files made into dir: each into a temporary folder beside them first, then renamed into
// place, and provenance.json rewritten after each, so that at every moment each file is old or new and its record
// says which. A file whose bytes are unchanged is neither rewritten nor given a new record.
func placeFigures(dir, scale string, order []string, made map[string][]byte, rec *provenance.Record,
	stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	provFile := filepath.Join(dir, "provenance.json")
	p := figuresProvenance{Files: map[string]*figureRecord{}}
	if b, err := os.ReadFile(provFile); err == nil {
		if json.Unmarshal(b, &p) != nil || p.Files == nil {
			p = figuresProvenance{Files: map[string]*figureRecord{}}
		}
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-figures-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var changed []string
	for _, name := range order {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, made[name]) && p.Files[name] != nil &&
			p.Files[name].Scale == scale {
			fmt.Fprintf(stdout, "unchanged %s\n", path)
			continue
		}
		if err := os.WriteFile(filepath.Join(tmp, name), made[name], 0o644); err != nil {
			return err
		}
		changed = append(changed, name)
	}
	if len(changed) == 0 && p.Scale == scale {
		return nil
	}
	p.Scale = scale
	for _, name := range changed {
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(dir, name)); err != nil {
			return err
		}
		p.Files[name] = &figureRecord{Scale: scale, Record: rec}
		if err := provenance.WriteJSON(provFile, p); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, name))
	}
	return provenance.WriteJSON(provFile, p)
}
