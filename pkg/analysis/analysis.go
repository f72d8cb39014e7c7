// Package analysis is the paper's Section 4, what makes the co-trained network robust: reconstructions from conv3_1
// under norm constraints, their spectral controls, and the saliency ratio ϱ̄.
//
// Natural images with Gaussian noise are reconstructed from each model's conv3_1 activations under a range of norm
// constraints (Fig. 5, 10), a spectral control gives the reconstruction's amplitude spectrum the noisy image's phase
// (Fig. 11), and the normalised norm ratio ϱ̄ measures how much of a reconstruction's energy falls in the image's
// salient region (Fig. 6, 7). The reconstructions themselves are pkg/recon, the saliency model and the ratio
// pkg/saliency; the Explorer reconstructs one image live for any norm (notebook 04's slider).
package analysis

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/eval"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/saliency"
	"github.com/robustvision/cotrain/pkg/train"
)

// Result is the Section 4 analysis at one scale (results.json; the arrays in the .npy files beside it).
type Result struct {
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
	Spectral   [][]float64   `json:"spectral"`   // [image][norm]: ϱ̄ of the spectral control (of SpectralOf's reconstruction)
	RhoClean   []float64     `json:"rho_clean"`  // [image]: ϱ of the undistorted image, against which ϱ̄ is measured
	Noise      [][][]float64 `json:"noise"`      // [model][image][norm]: high-frequency share of the reconstruction
	// Paired comparisons of the model spectralOf with the others over images (stats.go for the keys), and why one
	// could not be made.
	Paired     map[string]eval.Interval `json:"paired"`
	PairedNote map[string]string        `json:"paired_note,omitempty"`

	Targets      [][]float64     `json:"-"` // [image] noisy target, model input units
	Clean        [][]float64     `json:"-"` // [image] the undistorted image, model input units
	Densities    [][]float64     `json:"-"` // [image] saliency density
	Recons       [][][][]float64 `json:"-"` // [model][image][norm]
	SpectralImgs [][][]float64   `json:"-"` // [image][norm]
}

// Images are the analysis's images: central squares of distinct photographs, their saliency maps, and the noisy
// versions that are reconstructed.
type Images struct {
	Photos    []string
	Clean     [][]uint8   // the central squares, grey, size×size
	Noisy     [][]uint8   // with Gaussian noise of severity 2, as the paper's targets
	Densities [][]float64 // saliency densities of the clean squares
	Saliency  string      // the saliency model (or the user's maps) that made them
}

// PrepareImages chooses n distinct photographs (a seeded choice), takes the central square of each (the whole shorter
// side, shrunk to size): whole scenes with their background, as the paper's saliency images. The paper reconstructs
// Tiny ImageNet test images (Fig. 5) and ImageNet images (Fig. 6, 7), natural photographs; Fashion-MNIST's clothing on
// black has no scene to look at, so natural photographs serve both here. Saliency maps come from userMaps (a folder
// of <photo id>.npy or .png; logDensity: the .npy hold log-densities) or, if empty, the stand-in model.
func PrepareImages(photos []data.PhotoImage, n, size int, userMaps string, logDensity bool) (*Images, error) {
	rng := rand.New(rand.NewPCG(2021, 4))
	order := rng.Perm(len(photos))[:min(n, len(photos))]
	sampler := data.PatchSampler{PhotoDegrees: 6.7, TargetPPD: float64(size) / 6.7, Size: size}
	im := &Images{Saliency: saliency.StandIn}
	for k, i := range order {
		patch, err := sampler.Centre(photos[i])
		if err != nil {
			return nil, err
		}
		// Targets: the images with Gaussian noise of severity 2 (the paper's Section 4), deterministic per image.
		out, err := corrupt.Apply(corrupt.Image{H: size, W: size, C: 1, Pix: patch}, "gaussian_noise", 2, uint64(k),
			corrupt.PresetImageNetC)
		if err != nil {
			return nil, err
		}
		m, err := SaliencyMap(photos[i].ID, patch, size, userMaps, logDensity)
		if err != nil {
			return nil, err
		}
		im.Photos, im.Clean, im.Noisy = append(im.Photos, photos[i].ID), append(im.Clean, patch), append(im.Noisy, out.Pix)
		im.Densities, im.Saliency = append(im.Densities, m.Density), m.Source
	}
	return im, nil
}

// SaliencyMap is the stand-in model's map of a patch, or the user's map for the photograph (a folder of maps). A
// user's map is resampled to the patch, which is the photograph's central square: crop the maps likewise.
func SaliencyMap(photoID string, patch []uint8, size int, userMaps string, logDensity bool) (saliency.Map, error) {
	if userMaps != "" {
		for _, ext := range []string{".npy", ".png"} {
			file := filepath.Join(userMaps, photoID+ext)
			if _, err := os.Stat(file); err == nil {
				m, err := saliency.LoadMap(file, size, size, ext == ".npy" && logDensity)
				if err != nil {
					return m, err
				}
				m.Source = "user-supplied maps (" + userMaps + ")"
				return m, nil
			}
		}
		return saliency.Map{}, fmt.Errorf("saliency maps %s: no %s.npy or %s.png", userMaps, photoID, photoID)
	}
	clean := make([]float64, len(patch))
	for j, v := range patch {
		clean[j] = float64(v) / 255
	}
	return saliency.SpectralResidual(clean, size, size)
}

// Model is one network whose reconstructions are compared, with its reconstruction setting.
type Model struct {
	Name   string
	Net    *train.Model
	Config recon.Config
}

// Run reconstructs every (noisy) image under every norm constraint from each model, makes the spectral controls of
// the model named spectralOf, and computes every ϱ̄ against the undistorted image (the paper: "the normalised norm
// ratio of the reconstruction and the undistorted image"). logf, if not nil, reports progress.
func Run(models []Model, im *Images, norms []float64, spectralOf string, logf func(string, ...any)) (*Result, error) {
	if len(models) == 0 || len(im.Noisy) == 0 {
		return nil, fmt.Errorf("analysis: %d models, %d images", len(models), len(im.Noisy))
	}
	size := models[0].Net.Info.Model.InputSize
	res := &Result{Norms: norms, Size: size, Photos: im.Photos, Saliency: im.Saliency, Densities: im.Densities}
	for _, mod := range models {
		res.Steps = mod.Config.Steps
		res.Models = append(res.Models, mod.Name)
		res.Optimizers = append(res.Optimizers, fmt.Sprintf("%s lr %g", mod.Config.Optimizer, mod.Config.LearningRate))
		var problems []recon.Problem
		res.Targets, res.Clean = nil, nil
		for i, img := range im.Noisy {
			t := mod.Net.Normalise(img)
			res.Targets = append(res.Targets, floats64(t))
			res.Clean = append(res.Clean, floats64(mod.Net.Normalise(im.Clean[i])))
			for _, n := range norms {
				problems = append(problems, recon.Problem{Target: t, Norm: n})
			}
		}
		if logf != nil {
			logf("    reconstructing %d images × %d norms from %s's conv3_1 (%d steps, %s)\n", len(im.Noisy), len(norms),
				mod.Name, mod.Config.Steps, res.Optimizers[len(res.Optimizers)-1])
		}
		out, err := recon.Reconstruct(mod.Net, problems, mod.Config, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mod.Name, err)
		}
		var loss, initial, ratio, noise [][]float64
		var imgs [][][]float64
		for i := range im.Noisy {
			var l, in, ra, no []float64
			var ims [][]float64
			mask := saliency.Map{H: size, W: size, Density: im.Densities[i]}.Mask(saliency.MaskFraction)
			for j := range norms {
				k := i*len(norms) + j
				x := floats64(out.Images[k])
				l, in = append(l, out.Loss[k]), append(in, out.Initial[k])
				ra = append(ra, saliency.NormalisedRatio(x, res.Clean[i], mask))
				no = append(no, HighFrequencyShare(x, size, size))
				ims = append(ims, x)
			}
			loss, initial, ratio, imgs = append(loss, l), append(initial, in), append(ratio, ra), append(imgs, ims)
			noise = append(noise, no)
		}
		res.Loss, res.Initial, res.Ratio = append(res.Loss, loss), append(res.Initial, initial), append(res.Ratio, ratio)
		res.Noise = append(res.Noise, noise)
		res.Recons = append(res.Recons, imgs)
	}
	if err := res.spectralControls(spectralOf); err != nil {
		return nil, err
	}
	res.compare(spectralOf)
	return res, nil
}

// spectralControls adds the spectral controls of one model's reconstructions, and the targets' own ϱ.
func (a *Result) spectralControls(model string) error {
	mi := a.ModelIndex(model)
	if mi < 0 {
		return fmt.Errorf("analysis: spectral control of %q, which is not among %v", model, a.Models)
	}
	for i := range a.Photos {
		mask := saliency.Map{H: a.Size, W: a.Size, Density: a.Densities[i]}.Mask(saliency.MaskFraction)
		a.RhoClean = append(a.RhoClean, saliency.Rho(a.Clean[i], mask))
		var ratios []float64
		var ctls [][]float64
		for j := range a.Norms {
			ctl, err := recon.SpectralControl(a.Recons[mi][i][j], a.Targets[i], a.Size, a.Size)
			if err != nil {
				return err
			}
			ctls = append(ctls, ctl)
			ratios = append(ratios, saliency.NormalisedRatio(ctl, a.Clean[i], mask))
		}
		a.Spectral = append(a.Spectral, ratios)
		a.SpectralImgs = append(a.SpectralImgs, ctls)
	}
	return nil
}

// ModelIndex is the position of a model in Models, or −1.
func (a *Result) ModelIndex(model string) int {
	for i, m := range a.Models {
		if m == model {
			return i
		}
	}
	return -1
}

// MeanRatio is the mean ϱ̄ (over the images where it is finite) of a model's reconstructions under norm j.
func (a *Result) MeanRatio(model, j int) float64 {
	var s float64
	n := 0
	for i := range a.Photos {
		if x := a.Ratio[model][i][j]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// The files of a saved analysis.
const (
	resultsFile = "results.json"
	targetsFile = "targets.npy"
	cleanFile   = "clean.npy"
	densityFile = "saliency.npy"
	reconsFile  = "reconstructions.npy"
	controlFile = "spectral_controls.npy"
)

// Save writes the analysis into dir: results.json and the arrays as .npy files.
func (a *Result) Save(dir string) error {
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
	for name, rows := range map[string][][]float64{targetsFile: a.Targets, cleanFile: a.Clean, densityFile: a.Densities,
		reconsFile: recons, controlFile: spectral} {
		if err := neural.WriteResponsesNPY(filepath.Join(dir, name), len(rows), hw, flatten32(rows)); err != nil {
			return err
		}
	}
	return provenance.WriteJSON(filepath.Join(dir, resultsFile), a)
}

// Load reads an analysis written by Save.
func Load(dir string) (*Result, error) {
	var a Result
	if err := provenance.ReadJSON(filepath.Join(dir, resultsFile), &a); err != nil {
		return nil, err
	}
	read := func(name string, rows int) ([][]float64, error) {
		v, n, cols, err := neural.ReadResponsesNPY(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if n != rows || cols != a.Size*a.Size {
			return nil, fmt.Errorf("%s: %d×%d, want %d×%d", filepath.Join(dir, name), n, cols, rows, a.Size*a.Size)
		}
		out := make([][]float64, n)
		for i := range out {
			out[i] = floats64(v[i*cols : (i+1)*cols])
		}
		return out, nil
	}
	ni, nn, nm := len(a.Photos), len(a.Norms), len(a.Models)
	var err error
	if a.Targets, err = read(targetsFile, ni); err != nil {
		return nil, err
	}
	if a.Clean, err = read(cleanFile, ni); err != nil {
		return nil, err
	}
	if a.Densities, err = read(densityFile, ni); err != nil {
		return nil, err
	}
	recons, err := read(reconsFile, nm*ni*nn)
	if err != nil {
		return nil, err
	}
	spectral, err := read(controlFile, ni*nn)
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

func floats64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
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
