package study

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/saliency"
)

// ReconModels are the models whose reconstructions Section 4 compares (the first seed of each).
var ReconModels = []string{Baseline, Oracle, MTLMonkey, MTLShuffled}

// ReconAnalysis is the cached result of the Section 4 stage (analysis/recon): reconstructions of noisy natural
// images from conv3_1 of each model under each norm constraint, the spectral controls, the stand-in saliency maps
// and the normalised norm ratios ϱ̄. Arrays are in the .npy files beside results.json.
type ReconAnalysis struct {
	Models     []string      `json:"models"`
	Norms      []float64     `json:"norms"`
	Photos     []string      `json:"photos"` // photo ids of the images (data/photos.tsv)
	Size       int           `json:"size"`
	Steps      int           `json:"steps"`
	Optimizers []string      `json:"optimizers"` // per model: "sgd lr 5" or "adam lr 0.01"
	Saliency   string        `json:"saliency"`   // which saliency model made the maps
	Loss       [][][]float64 `json:"loss"`       // [model][image][norm]: final ||f(x) − f(x₀)||²
	Initial    [][][]float64 `json:"initial"`    // [model][image][norm]: at the projected random start
	Ratio      [][][]float64 `json:"ratio"`      // [model][image][norm]: ϱ̄ of the reconstruction
	Spectral   [][]float64   `json:"spectral"`   // [image][norm]: ϱ̄ of the spectral control (of MTL-Monkey's reconstruction)
	RhoTarget  []float64     `json:"rho_target"`

	Targets      [][]float64     `json:"-"` // [image] noisy target, model input units
	Densities    [][]float64     `json:"-"` // [image] saliency density
	Recons       [][][][]float64 `json:"-"` // [model][image][norm]
	SpectralImgs [][][]float64   `json:"-"` // [image][norm]
}

// reconAnalysis runs the Section 4 stage.
func (r *Runner) reconAnalysis(st Stage, rec *StageRecord) error {
	s := r.Scale
	size := s.Model.InputSize
	manifest, err := data.LoadManifest(filepath.Join(r.Root, "data", "photos.tsv"))
	if err != nil {
		return err
	}
	photoDir := filepath.Join(r.Root, PhotoDir)
	if err := data.FetchPhotos(manifest, photoDir, "", os.Stderr); err != nil {
		return err
	}
	photos, err := data.LoadPhotos(manifest, photoDir)
	if err != nil {
		return err
	}
	// Distinct photographs (a seeded choice), the central square of each (the whole shorter side) shrunk to the
	// model's input: whole scenes with their background, as the paper's saliency images. The paper reconstructs Tiny
	// ImageNet test images (Fig. 5) and ImageNet images (Fig. 6, 7) — natural photographs; Fashion-MNIST's clothing
	// on black has no scene to look at, so the natural photographs serve both here.
	rng := rand.New(rand.NewPCG(2021, 4))
	order := rng.Perm(len(photos))[:min(s.ReconImages, len(photos))]
	sampler := data.PatchSampler{PhotoDegrees: 6.7, TargetPPD: float64(size) / 6.7, Size: size}
	res := &ReconAnalysis{Norms: s.ReconNorms, Size: size, Steps: s.ReconSteps, Saliency: saliency.StandIn}
	var noisy [][]uint8
	for k, i := range order {
		patch, err := sampler.Centre(photos[i])
		if err != nil {
			return err
		}
		// Targets: the images with Gaussian noise of severity 2 (SPEC §9), deterministic per image.
		out, err := corrupt.Apply(corrupt.Image{H: size, W: size, C: 1, Pix: patch}, "gaussian_noise", 2, uint64(k), corrupt.PresetImageNetC)
		if err != nil {
			return err
		}
		noisy = append(noisy, out.Pix)
		res.Photos = append(res.Photos, photos[i].ID)
		m, err := r.saliencyMap(photos[i].ID, patch, size)
		if err != nil {
			return err
		}
		res.Densities = append(res.Densities, m.Density)
		res.Saliency = m.Source
	}
	for _, model := range ReconModels {
		id := fmt.Sprintf("%s/seed%d", model, s.Seeds[0])
		m, err := r.LoadModel(id)
		if err != nil {
			return err
		}
		cfg := recon.PaperConfig(strings.HasPrefix(model, "mtl-"))
		cfg.Steps = s.ReconSteps
		res.Models = append(res.Models, model)
		res.Optimizers = append(res.Optimizers, fmt.Sprintf("%s lr %g", cfg.Optimizer, cfg.LearningRate))
		var problems []recon.Problem
		var targets [][]float64
		for _, img := range noisy {
			t := m.Normalise(img)
			tf := make([]float64, len(t))
			for j, v := range t {
				tf[j] = float64(v)
			}
			targets = append(targets, tf)
			for _, n := range s.ReconNorms {
				problems = append(problems, recon.Problem{Target: t, Radius: n})
			}
		}
		res.Targets = targets
		r.logf("    reconstructing %d images × %d norms from %s's conv3_1 (%d steps, %s)\n", len(noisy), len(s.ReconNorms), model, cfg.Steps, res.Optimizers[len(res.Optimizers)-1])
		out, err := recon.Reconstruct(m, problems, cfg, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		var loss, initial, ratio [][]float64
		var imgs [][][]float64
		for i := range noisy {
			var l, in, ra []float64
			var im [][]float64
			mask := saliency.Map{H: size, W: size, Density: res.Densities[i]}.Mask(saliency.MaskFraction)
			for j := range s.ReconNorms {
				k := i*len(s.ReconNorms) + j
				x := toF64(out.Images[k])
				l, in = append(l, out.Loss[k]), append(in, out.Initial[k])
				ra = append(ra, saliency.NormalisedRatio(x, targets[i], mask))
				im = append(im, x)
			}
			loss, initial, ratio, imgs = append(loss, l), append(initial, in), append(ratio, ra), append(imgs, im)
		}
		res.Loss, res.Initial, res.Ratio = append(res.Loss, loss), append(res.Initial, initial), append(res.Ratio, ratio)
		res.Recons = append(res.Recons, imgs)
	}
	// Spectral control of MTL-Monkey's reconstructions, and the targets' own ϱ.
	monkey := indexOf(res.Models, MTLMonkey)
	for i := range noisy {
		mask := saliency.Map{H: size, W: size, Density: res.Densities[i]}.Mask(saliency.MaskFraction)
		res.RhoTarget = append(res.RhoTarget, saliency.Rho(res.Targets[i], mask))
		var ratios []float64
		var ctls [][]float64
		for j := range s.ReconNorms {
			ctl, err := recon.SpectralControl(res.Recons[monkey][i][j], res.Targets[i], size, size)
			if err != nil {
				return err
			}
			ctls = append(ctls, ctl)
			ratios = append(ratios, saliency.NormalisedRatio(ctl, res.Targets[i], mask))
		}
		res.Spectral = append(res.Spectral, ratios)
		res.SpectralImgs = append(res.SpectralImgs, ctls)
	}
	for mi, model := range res.Models {
		for j, n := range res.Norms {
			var v []float64
			for i := range res.Photos {
				v = append(v, res.Ratio[mi][i][j])
			}
			rec.Results[fmt.Sprintf("ratio_%s_norm%g", model, n)] = meanFinite(v)
		}
	}
	return res.write(r.Dir(st.ID))
}

// saliencyMap is the stand-in model's map of a patch, or the user's map for the photograph (Scale.SaliencyMaps).
// A user's map is resampled to the patch, which is the photograph's central square: crop the maps likewise.
func (r *Runner) saliencyMap(photoID string, patch []uint8, size int) (saliency.Map, error) {
	if dir := r.Scale.SaliencyMaps; dir != "" {
		for _, ext := range []string{".npy", ".png"} {
			file := filepath.Join(dir, photoID+ext)
			if _, err := os.Stat(file); err == nil {
				m, err := saliency.LoadMap(file, size, size, ext == ".npy" && r.Scale.SaliencyLogDensity)
				if err != nil {
					return m, err
				}
				m.Source = "user-supplied maps (" + dir + ")"
				return m, nil
			}
		}
		return saliency.Map{}, fmt.Errorf("saliency maps %s: no %s.npy or %s.png", dir, photoID, photoID)
	}
	clean := make([]float64, len(patch))
	for j, v := range patch {
		clean[j] = float64(v) / 255
	}
	return saliency.SpectralResidual(clean, size, size)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func meanFinite(v []float64) float64 {
	var s float64
	n := 0
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

func flatten32(rows [][]float64) []float32 {
	var out []float32
	for _, r := range rows {
		for _, v := range r {
			out = append(out, float32(v))
		}
	}
	return out
}

func (a *ReconAnalysis) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hw := a.Size * a.Size
	var recons [][]float64
	for _, m := range a.Recons {
		for _, im := range m {
			recons = append(recons, im...)
		}
	}
	var spectral [][]float64
	for _, im := range a.SpectralImgs {
		spectral = append(spectral, im...)
	}
	for name, rows := range map[string][][]float64{"targets.npy": a.Targets, "saliency.npy": a.Densities,
		"reconstructions.npy": recons, "spectral_controls.npy": spectral} {
		if err := neural.WriteResponsesNPY(filepath.Join(dir, name), len(rows), hw, flatten32(rows)); err != nil {
			return err
		}
	}
	return provenance.WriteJSON(filepath.Join(dir, "results.json"), a)
}

// LoadReconAnalysis reads the Section 4 stage's results from the cache.
func (r *Runner) LoadReconAnalysis() (*ReconAnalysis, error) {
	dir := r.Dir("analysis/recon")
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, fmt.Errorf("section 4 analysis not in the cache (run cotrain reproduce -scale %s): %w", r.Scale.Name, err)
	}
	var a ReconAnalysis
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "results.json"), err)
	}
	read := func(name string, rows int) ([][]float64, error) {
		v, n, cols, err := neural.ReadResponsesNPY(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if n != rows || cols != a.Size*a.Size {
			return nil, fmt.Errorf("%s: %d×%d, want %d×%d", name, n, cols, rows, a.Size*a.Size)
		}
		out := make([][]float64, n)
		for i := range out {
			out[i] = toF64(v[i*cols : (i+1)*cols])
		}
		return out, nil
	}
	ni, nn, nm := len(a.Photos), len(a.Norms), len(a.Models)
	if a.Targets, err = read("targets.npy", ni); err != nil {
		return nil, err
	}
	if a.Densities, err = read("saliency.npy", ni); err != nil {
		return nil, err
	}
	recons, err := read("reconstructions.npy", nm*ni*nn)
	if err != nil {
		return nil, err
	}
	spectral, err := read("spectral_controls.npy", ni*nn)
	if err != nil {
		return nil, err
	}
	a.Recons = make([][][][]float64, nm)
	for m := range nm {
		a.Recons[m] = make([][][]float64, ni)
		for i := range ni {
			a.Recons[m][i] = recons[(m*ni+i)*nn : (m*ni+i+1)*nn]
		}
	}
	a.SpectralImgs = make([][][]float64, ni)
	for i := range ni {
		a.SpectralImgs[i] = spectral[i*nn : (i+1)*nn]
	}
	return &a, nil
}

// ReconstructOne reconstructs one of the analysis images live from a model's checkpoint under one norm (the
// notebook's interactive control): it returns the target and the reconstruction in model input units.
func (r *Runner) ReconstructOne(model string, image int, norm float64, steps int) (target, x []float64, err error) {
	a, err := r.LoadReconAnalysis()
	if err != nil {
		return nil, nil, err
	}
	if image < 0 || image >= len(a.Targets) {
		return nil, nil, fmt.Errorf("image %d: the analysis has %d images", image, len(a.Targets))
	}
	m, err := r.LoadModel(fmt.Sprintf("%s/seed%d", model, r.Scale.Seeds[0]))
	if err != nil {
		return nil, nil, err
	}
	cfg := recon.PaperConfig(strings.HasPrefix(model, "mtl-"))
	cfg.Steps = steps
	t := make([]float32, len(a.Targets[image]))
	for i, v := range a.Targets[image] {
		t[i] = float32(v)
	}
	out, err := recon.Reconstruct(m, []recon.Problem{{Target: t, Radius: norm}}, cfg, nil)
	if err != nil {
		return nil, nil, err
	}
	return a.Targets[image], toF64(out.Images[0]), nil
}
