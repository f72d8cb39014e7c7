// Package analysis is the paper's Section 4, what makes the co-trained network robust: reconstructions from conv3_1
// under norm constraints, their spectral controls, and the saliency ratio ϱ̄.
//
// Two sets of reconstructions, as the paper's: the images with Gaussian noise (severity 2) are reconstructed from
// each model's conv3_1 activations under a range of norm constraints (Fig. 5, 10, 11), with the spectral control of
// MTL-Monkey's (the reconstruction's amplitude spectrum with the noisy image's phase); and the undistorted images are
// reconstructed from the models the paper compares on saliency (MTL-Monkey, the Oracle and the Baseline), whose
// normalised norm ratio ϱ̄ measures how much of a reconstruction's energy falls in the image's salient region
// (Fig. 6, 7; Section 4: "we collected 70 undistorted images … We used grayscale versions of these images as targets
// for the reconstruction"). The reconstructions themselves are pkg/recon, the saliency model and the ratios
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

// What the two sets of reconstructions start from (Result.NoisyTargets, Result.SaliencyTargets).
const (
	NoisyTargets    = "the images with Gaussian noise of severity 2"
	SaliencyTargets = "the undistorted images"
)

// Result is the Section 4 analysis at one scale (results.json; the arrays in the .npy files beside it).
type Result struct {
	Models     []string  `json:"models"`
	Norms      []float64 `json:"norms"`
	Photos     []string  `json:"photos"` // ids of the images (data/photos.tsv, or "<set>/<index> (<class>)")
	Source     string    `json:"source"` // where the images come from
	Size       int       `json:"size"`
	Steps      int       `json:"steps"`
	Optimizers []string  `json:"optimizers"` // per model: "sgd lr 5" or "adam lr 0.01"
	Saliency   string    `json:"saliency"`   // which saliency model made the maps
	// The reconstructions of the noisy images (Fig. 5), from every model.
	NoisyTargets string        `json:"noisy_targets"`
	Loss         [][][]float64 `json:"loss"`    // [model][image][norm]: final ||f(x) − f(x₀)||²
	Initial      [][][]float64 `json:"initial"` // [model][image][norm]: at the projected random start
	Noise        [][][]float64 `json:"noise"`   // [model][image][norm]: high-frequency share of the reconstruction
	Edge         [][][]float64 `json:"edge"`    // [model][image][norm]: edge ratio (ϱ̄ on the clean image's edges)
	// SpectralNoise and SpectralEdge are the same measures of the spectral control of SpectralOf's reconstruction.
	SpectralNoise [][]float64 `json:"spectral_noise"` // [image][norm]
	SpectralEdge  [][]float64 `json:"spectral_edge"`  // [image][norm]
	SpectralOf    string      `json:"spectral_of"`
	// The reconstructions of the undistorted images (Fig. 6, 7), from the models compared on saliency.
	SaliencyTargets string        `json:"saliency_targets"`
	SaliencyModels  []string      `json:"saliency_models"`
	SaliencyLoss    [][][]float64 `json:"saliency_loss"` // [saliency model][image][norm]
	Ratio           [][][]float64 `json:"ratio"`         // [saliency model][image][norm]: ϱ̄ of the reconstruction
	Spectral        [][]float64   `json:"spectral"`      // [image][norm]: ϱ̄ of the spectral control of SpectralOf's
	RhoClean        []float64     `json:"rho_clean"`     // [image]: ϱ of the undistorted image
	// Paired comparisons over images (stats.go for the keys), and why one could not be made.
	Paired     map[string]eval.Interval `json:"paired"`
	PairedNote map[string]string        `json:"paired_note,omitempty"`

	Targets              [][]float64     `json:"-"` // [image] noisy target, model input units
	Clean                [][]float64     `json:"-"` // [image] the undistorted image, model input units
	Densities            [][]float64     `json:"-"` // [image] saliency density
	Recons               [][][][]float64 `json:"-"` // [model][image][norm], of the noisy images
	SpectralImgs         [][][]float64   `json:"-"` // [image][norm], of the noisy images
	SaliencyRecons       [][][][]float64 `json:"-"` // [saliency model][image][norm], of the undistorted images
	SaliencySpectralImgs [][][]float64   `json:"-"` // [image][norm], of the undistorted images
}

// Images are the analysis's images: the undistorted images, their saliency maps, and the noisy versions.
type Images struct {
	Photos    []string // ids
	Source    string
	Clean     [][]uint8   // grey, size×size
	Noisy     [][]uint8   // with Gaussian noise of severity 2, as the paper's targets of Fig. 5
	Densities [][]float64 // saliency densities of the clean images
	Saliency  string      // the saliency model (or the user's maps) that made them
}

// PrepareImages chooses n distinct photographs (a seeded choice) and takes the central square of each (the whole
// shorter side, shrunk to size): whole scenes with their background, as the paper's saliency images (ImageNet images
// with structured background). Saliency maps come from userMaps (a folder of <photo id>.npy or .png; logDensity: the
// .npy hold log-densities) or, if empty, the stand-in model.
func PrepareImages(photos []data.PhotoImage, n, size int, userMaps string, logDensity bool) (*Images, error) {
	rng := rand.New(rand.NewPCG(2021, 4))
	order := rng.Perm(len(photos))[:min(n, len(photos))]
	sampler := data.PatchSampler{PhotoDegrees: 6.7, TargetPPD: float64(size) / 6.7, Size: size}
	im := &Images{Saliency: saliency.StandIn, Source: "natural photographs (data/photos.tsv)"}
	for _, i := range order {
		patch, err := sampler.Centre(photos[i])
		if err != nil {
			return nil, err
		}
		m, err := SaliencyMap(photos[i].ID, patch, size, userMaps, logDensity)
		if err != nil {
			return nil, err
		}
		if err := im.add(photos[i].ID, patch, size, m); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// PrepareSetImages chooses n images of a classification set (its test images: the models' own distribution), an
// equal number of each class where n allows (a seeded choice), with the stand-in saliency model's maps.
func PrepareSetImages(set *data.Set, n int) (*Images, error) {
	if set.C != 1 || set.H != set.W {
		return nil, fmt.Errorf("analysis: %s holds %d×%d×%d images, want square grey ones", set.Name, set.H, set.W, set.C)
	}
	perClass := max(1, (n+len(set.Classes)-1)/len(set.Classes))
	picked := data.Stratified(set, perClass, 2021)
	im := &Images{Saliency: saliency.StandIn, Source: set.Name + " (the models' own distribution)"}
	for i := range min(n, picked.N) {
		// Interleave the classes: image i is of class i mod classes where the subset allows.
		j := (i%len(set.Classes))*perClass + i/len(set.Classes)
		if j >= picked.N {
			j = i
		}
		patch := append([]uint8(nil), picked.Image(j)...)
		m, err := SaliencyMap("", patch, set.H, "", false)
		if err != nil {
			return nil, err
		}
		id := fmt.Sprintf("%s/%d (%s)", set.Name, j, set.Classes[picked.Labels[j]])
		if err := im.add(id, patch, set.H, m); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// add appends an image with its noisy version (deterministic per image) and saliency map.
func (im *Images) add(id string, clean []uint8, size int, m saliency.Map) error {
	out, err := corrupt.Apply(corrupt.Image{H: size, W: size, C: 1, Pix: clean}, "gaussian_noise", 2, uint64(len(im.Clean)),
		corrupt.PresetImageNetC)
	if err != nil {
		return err
	}
	im.Photos, im.Clean, im.Noisy = append(im.Photos, id), append(im.Clean, clean), append(im.Noisy, out.Pix)
	im.Densities, im.Saliency = append(im.Densities, m.Density), m.Source
	return nil
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

// Run reconstructs every noisy image under every norm constraint from each model, and every undistorted image from
// the models named in salient, makes the spectral controls of the model named spectralOf, and computes the
// measures: the high-frequency share and the edge ratio of the noisy images' reconstructions, and ϱ̄ of the
// undistorted images' against the undistorted image (the paper: "the normalised norm ratio of the reconstruction and
// the undistorted image"). logf, if not nil, reports progress.
func Run(models []Model, im *Images, norms []float64, spectralOf string, salient []string,
	logf func(string, ...any)) (*Result, error) {
	if len(models) == 0 || len(im.Noisy) == 0 {
		return nil, fmt.Errorf("analysis: %d models, %d images", len(models), len(im.Noisy))
	}
	size := models[0].Net.Info.Model.InputSize
	res := &Result{Norms: norms, Size: size, Photos: im.Photos, Source: im.Source, Saliency: im.Saliency,
		Densities: im.Densities, NoisyTargets: NoisyTargets, SaliencyTargets: SaliencyTargets, SpectralOf: spectralOf}
	edges := make([][]bool, len(im.Clean))
	for _, mod := range models {
		res.Steps = mod.Config.Steps
		res.Models = append(res.Models, mod.Name)
		res.Optimizers = append(res.Optimizers, fmt.Sprintf("%s lr %g", mod.Config.Optimizer, mod.Config.LearningRate))
		res.Targets, res.Clean = nil, nil
		for i := range im.Noisy {
			res.Targets = append(res.Targets, floats64(mod.Net.Normalise(im.Noisy[i])))
			res.Clean = append(res.Clean, floats64(mod.Net.Normalise(im.Clean[i])))
			if edges[i] == nil {
				edges[i] = saliency.EdgeMap(res.Clean[i], size, size).Mask(saliency.MaskFraction)
			}
		}
		salientModel := contains(salient, mod.Name)
		targets := res.Targets
		if salientModel {
			targets = append(append([][]float64(nil), res.Targets...), res.Clean...)
		}
		var problems []recon.Problem
		for _, t := range targets {
			for _, n := range norms {
				problems = append(problems, recon.Problem{Target: float32s(t), Norm: n})
			}
		}
		if logf != nil {
			what := "noisy"
			if salientModel {
				what = "noisy and undistorted"
			}
			logf("    reconstructing %d %s images × %d norms from %s's conv3_1 (%d steps, %s)\n", len(targets), what,
				len(norms), mod.Name, mod.Config.Steps, res.Optimizers[len(res.Optimizers)-1])
		}
		out, err := recon.Reconstruct(mod.Net, problems, mod.Config, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", mod.Name, err)
		}
		half := len(im.Noisy) * len(norms)
		imgs, loss, initial := grid(out, 0, len(im.Noisy), len(norms))
		res.Recons, res.Loss, res.Initial = append(res.Recons, imgs), append(res.Loss, loss), append(res.Initial, initial)
		res.Noise = append(res.Noise, measure(imgs, func(i int, x []float64) float64 { return HighFrequencyShare(x, size, size) }))
		res.Edge = append(res.Edge, measure(imgs, func(i int, x []float64) float64 {
			return saliency.NormalisedRatio(x, res.Clean[i], edges[i])
		}))
		if salientModel {
			cimgs, closs, _ := grid(out, half, len(im.Noisy), len(norms))
			res.SaliencyModels = append(res.SaliencyModels, mod.Name)
			res.SaliencyRecons, res.SaliencyLoss = append(res.SaliencyRecons, cimgs), append(res.SaliencyLoss, closs)
			res.Ratio = append(res.Ratio, measure(cimgs, func(i int, x []float64) float64 {
				return saliency.NormalisedRatio(x, res.Clean[i], res.saliencyMask(i))
			}))
		}
	}
	if err := res.spectralControls(edges); err != nil {
		return nil, err
	}
	res.compare()
	return res, nil
}

// grid is the reconstructions (and their final and initial losses) of images × norms problems starting at first.
func grid(out *recon.Result, first, images, norms int) (imgs [][][]float64, loss, initial [][]float64) {
	for i := range images {
		var ims [][]float64
		var l, in []float64
		for j := range norms {
			k := first + i*norms + j
			ims, l, in = append(ims, floats64(out.Images[k])), append(l, out.Loss[k]), append(in, out.Initial[k])
		}
		imgs, loss, initial = append(imgs, ims), append(loss, l), append(initial, in)
	}
	return imgs, loss, initial
}

// measure applies f to every image × norm of a grid of reconstructions.
func measure(imgs [][][]float64, f func(i int, x []float64) float64) [][]float64 {
	out := make([][]float64, len(imgs))
	for i, row := range imgs {
		for _, x := range row {
			out[i] = append(out[i], f(i, x))
		}
	}
	return out
}

func (a *Result) saliencyMask(i int) []bool {
	return saliency.Map{H: a.Size, W: a.Size, Density: a.Densities[i]}.Mask(saliency.MaskFraction)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// spectralControls adds the spectral controls of SpectralOf's reconstructions — of the noisy images (their noise and
// edge measures) and of the undistorted images (their ϱ̄) — and the undistorted images' own ϱ.
func (a *Result) spectralControls(edges [][]bool) error {
	mi, si := a.ModelIndex(a.SpectralOf), index(a.SaliencyModels, a.SpectralOf)
	if mi < 0 {
		return fmt.Errorf("analysis: spectral control of %q, which is not among %v", a.SpectralOf, a.Models)
	}
	for i := range a.Photos {
		mask := a.saliencyMask(i)
		a.RhoClean = append(a.RhoClean, saliency.Rho(a.Clean[i], mask))
		var noise, edge, ratios []float64
		var ctls, cctls [][]float64
		for j := range a.Norms {
			ctl, err := recon.SpectralControl(a.Recons[mi][i][j], a.Targets[i], a.Size, a.Size)
			if err != nil {
				return err
			}
			ctls = append(ctls, ctl)
			noise = append(noise, HighFrequencyShare(ctl, a.Size, a.Size))
			edge = append(edge, saliency.NormalisedRatio(ctl, a.Clean[i], edges[i]))
			if si >= 0 {
				cctl, err := recon.SpectralControl(a.SaliencyRecons[si][i][j], a.Clean[i], a.Size, a.Size)
				if err != nil {
					return err
				}
				cctls = append(cctls, cctl)
				ratios = append(ratios, saliency.NormalisedRatio(cctl, a.Clean[i], mask))
			}
		}
		a.SpectralNoise, a.SpectralEdge = append(a.SpectralNoise, noise), append(a.SpectralEdge, edge)
		a.SpectralImgs = append(a.SpectralImgs, ctls)
		if si >= 0 {
			a.Spectral, a.SaliencySpectralImgs = append(a.Spectral, ratios), append(a.SaliencySpectralImgs, cctls)
		}
	}
	return nil
}

func index(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
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

// SaliencyIndex is the position of a model in SaliencyModels, or −1.
func (a *Result) SaliencyIndex(model string) int { return index(a.SaliencyModels, model) }

// MeanRatio is the mean ϱ̄ (over the images where it is finite) of a saliency model's reconstructions (its index in
// SaliencyModels) under norm j.
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
	// The reconstructions of the undistorted images and their spectral controls.
	saliencyReconsFile  = "saliency_reconstructions.npy"
	saliencyControlFile = "saliency_spectral_controls.npy"
)

// Save writes the analysis into dir: results.json and the arrays as .npy files.
func (a *Result) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	hw := a.Size * a.Size
	flat4 := func(v [][][][]float64) [][]float64 {
		var out [][]float64
		for _, m := range v {
			for _, im := range m {
				out = append(out, im...)
			}
		}
		return out
	}
	flat3 := func(v [][][]float64) [][]float64 {
		var out [][]float64
		for _, im := range v {
			out = append(out, im...)
		}
		return out
	}
	for name, rows := range map[string][][]float64{targetsFile: a.Targets, cleanFile: a.Clean, densityFile: a.Densities,
		reconsFile: flat4(a.Recons), controlFile: flat3(a.SpectralImgs), saliencyReconsFile: flat4(a.SaliencyRecons),
		saliencyControlFile: flat3(a.SaliencySpectralImgs)} {
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
	ni, nn, nm, ns := len(a.Photos), len(a.Norms), len(a.Models), len(a.SaliencyModels)
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
	split4 := func(rows [][]float64, models int) [][][][]float64 {
		out := make([][][][]float64, models)
		for m := range models {
			out[m] = make([][][]float64, ni)
			for i := range ni {
				out[m][i] = rows[(m*ni+i)*nn : (m*ni+i+1)*nn]
			}
		}
		return out
	}
	split3 := func(rows [][]float64) [][][]float64 {
		out := make([][][]float64, ni)
		for i := range ni {
			out[i] = rows[i*nn : (i+1)*nn]
		}
		return out
	}
	for _, f := range []struct {
		file string
		rows int
		set  func([][]float64)
	}{
		{reconsFile, nm * ni * nn, func(r [][]float64) { a.Recons = split4(r, nm) }},
		{controlFile, ni * nn, func(r [][]float64) { a.SpectralImgs = split3(r) }},
		{saliencyReconsFile, ns * ni * nn, func(r [][]float64) { a.SaliencyRecons = split4(r, ns) }},
		{saliencyControlFile, ni * nn, func(r [][]float64) { a.SaliencySpectralImgs = split3(r) }},
	} {
		rows, err := read(f.file, f.rows)
		if err != nil {
			return nil, err
		}
		f.set(rows)
	}
	if err := a.check(); err != nil {
		return nil, fmt.Errorf("analysis in %s: %w", dir, err)
	}
	return &a, nil
}

// check verifies that the measures have their shapes and plausible values: finite losses, shares within [0, 1],
// ratios ϱ̄ within [−1, 1] or undefined.
func (a *Result) check() error {
	ni, nn := len(a.Photos), len(a.Norms)
	shape := func(name string, v [][][]float64, models int) error {
		if len(v) != models {
			return fmt.Errorf("%s of %d models, want %d", name, len(v), models)
		}
		for _, m := range v {
			if len(m) != ni {
				return fmt.Errorf("%s of %d images, want %d", name, len(m), ni)
			}
			for _, row := range m {
				if len(row) != nn {
					return fmt.Errorf("%s at %d norms, want %d", name, len(row), nn)
				}
			}
		}
		return nil
	}
	for _, c := range []struct {
		name   string
		v      [][][]float64
		models int
		lo, hi float64
	}{
		{"loss", a.Loss, len(a.Models), 0, math.Inf(1)}, {"noise", a.Noise, len(a.Models), 0, 1},
		{"edge", a.Edge, len(a.Models), -1e9, 1}, {"ratio", a.Ratio, len(a.SaliencyModels), -1e9, 1},
	} {
		if err := shape(c.name, c.v, c.models); err != nil {
			return err
		}
		for _, m := range c.v {
			for _, row := range m {
				for _, x := range row {
					if !math.IsNaN(x) && (x < c.lo || x > c.hi+1e-9) || math.IsInf(x, 0) {
						return fmt.Errorf("%s %v is impossible", c.name, x)
					}
				}
			}
		}
	}
	return nil
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
