package study

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
)

// The Analysis stage: Section 4 of the paper (pkg/analysis), over the cache.

// analysisStage runs Section 4 on the scale's images (Scale.ReconSource: the natural photographs, fetched from their
// Debian package if needed, or the classification test images) and the first seed of each of ReconModels.
func (r *Runner) analysisStage(st Stage, rec *record.Stage) error {
	images, err := r.reconImages()
	if err != nil {
		return err
	}
	models, err := r.reconModels()
	if err != nil {
		return err
	}
	res, err := analysis.Run(models, images, r.Scale.ReconNorms, condition.MTLMonkey, SaliencyModels(r.Scale), r.logf)
	if err != nil {
		return err
	}
	for si, model := range res.SaliencyModels {
		for j, n := range res.Norms {
			rec.Results[fmt.Sprintf("ratio_%s_norm%g", model, n)] = res.MeanRatio(si, j)
		}
	}
	return res.Save(r.Dir(st.ID))
}

// reconImages are Section 4's images at the scale.
func (r *Runner) reconImages() (*analysis.Images, error) {
	s := r.Scale
	if s.ReconSource == scales.ReconTestImages {
		if s.SaliencyMaps != "" {
			return nil, fmt.Errorf("the %s scale's Section 4 uses its test images: user saliency maps (Scale.SaliencyMaps) "+
				"name photographs", s.Name)
		}
		p, err := r.Images()
		if err != nil {
			return nil, err
		}
		return analysis.PrepareSetImages(p.Test, s.ReconImages)
	}
	photos, err := data.ManifestPhotos(filepath.Join(r.Root, "data", "photos.tsv"), filepath.Join(r.Root, scales.PhotoDir),
		os.Stderr)
	if err != nil {
		return nil, err
	}
	return analysis.PrepareImages(photos, s.ReconImages, s.Model.InputSize, s.SaliencyMaps, s.SaliencyLogDensity)
}

// SaliencyModels are the conditions whose reconstructions of the undistorted images Section 4 compares on saliency.
func SaliencyModels(s scales.Scale) []string {
	var out []string
	for _, name := range ReconModels(s) {
		if condition.Must(name).Salient {
			out = append(out, name)
		}
	}
	return out
}

// LoadAnalysis reads the Section 4 stage's results from the cache; the stage must be done (a *NotDoneError
// otherwise).
func (r *Runner) LoadAnalysis() (*analysis.Result, error) {
	if _, err := r.Done(ReconStage); err != nil {
		return nil, err
	}
	return analysis.Load(r.Dir(ReconStage))
}

// Explorer loads the first seed of each of ReconModels and prepares the live reconstruction of one of the analysis's
// images (notebook 04's slider), with the reconstruction settings of the analysis.
func (r *Runner) Explorer(image int) (*analysis.Explorer, error) {
	a, err := r.LoadAnalysis()
	if err != nil {
		return nil, err
	}
	if image < 0 || image >= len(a.Targets) {
		return nil, fmt.Errorf("image %d: the analysis has %d images", image, len(a.Targets))
	}
	models, err := r.reconModels()
	if err != nil {
		return nil, err
	}
	return analysis.NewExplorer(models, a.Targets[image], a.Clean[image], a.Densities[image], condition.MTLMonkey)
}

// reconModels loads the first seed of each of ReconModels with its reconstruction setting.
func (r *Runner) reconModels() ([]analysis.Model, error) {
	var models []analysis.Model
	for _, name := range ReconModels(r.Scale) {
		m, err := r.LoadModel(seedDir(name, r.Scale.Seeds[0]))
		if err != nil {
			return nil, err
		}
		models = append(models, analysis.Model{Name: name, Net: m, Config: r.ReconSetting(name)})
	}
	return models, nil
}

// ReconSetting is a condition's reconstruction setting at the scale: the paper's optimiser for it (SGD for the
// multi-task models, Adam for the others), with the scale's steps.
func (r *Runner) ReconSetting(name string) recon.Config {
	cfg := recon.PaperConfig(condition.Must(name).Reconstruct == "sgd")
	cfg.Steps = r.Scale.ReconSteps
	return cfg
}
