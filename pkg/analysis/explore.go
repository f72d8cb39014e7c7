package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/saliency"
)

// Explorer reconstructs one image from several models under any norm constraint, as often as asked (notebook 04's
// slider): each model's reconstruction graphs are compiled once, when the Explorer is made, and the norm constraint is
// an input of the compiled step, so moving the constraint recompiles and reloads nothing.
type Explorer struct {
	Models     []string
	Optimizers []string  // per model: its reconstruction optimiser, e.g. "sgd lr 5" (the paper's per model)
	Target     []float64 // the noisy image, model input units
	Clean      []float64 // the undistorted image (ϱ̄ is measured against it)
	Density    []float64 // its saliency density
	Size       int
	spectralOf int
	recons     []*recon.Reconstructor
	mask       []bool
}

// View is the Explorer's answer for one norm constraint.
type View struct {
	Norm          float64
	Steps         int
	Images        [][]float64 // per model
	Loss          []float64   // per model: final ||f(x) − f(x₀)||²
	Achieved      []float64   // per model: the final image's norm (≤ Norm)
	Ratio         []float64   // per model: ϱ̄
	Spectral      []float64   // the spectral control of the model SpectralOf
	SpectralRatio float64     // its ϱ̄
	Seconds       float64     // wall time of the whole view
}

// NewExplorer prepares the reconstructions of target (model input units, Size×Size) from each model, and the
// spectral control of the one named spectralOf. clean is the undistorted image and density its saliency density
// (for ϱ̄).
func NewExplorer(models []Model, target, clean, density []float64, spectralOf string) (*Explorer, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("explorer: no models")
	}
	size := models[0].Net.Info.Model.InputSize
	if len(target) != size*size || len(clean) != size*size || len(density) != size*size {
		return nil, fmt.Errorf("explorer: target of %d, clean image of %d and density of %d pixels, the models take %d×%d",
			len(target), len(clean), len(density), size, size)
	}
	e := &Explorer{Target: target, Clean: clean, Density: density, Size: size, spectralOf: -1,
		mask: saliency.Map{H: size, W: size, Density: density}.Mask(saliency.MaskFraction)}
	for i, m := range models {
		if m.Net.Info.Model.InputSize != size {
			return nil, fmt.Errorf("explorer: %s takes %d×%d images, %s %d×%d", m.Name, m.Net.Info.Model.InputSize,
				m.Net.Info.Model.InputSize, models[0].Name, size, size)
		}
		r, err := recon.NewReconstructor(m.Net, m.Config)
		if err != nil {
			return nil, fmt.Errorf("explorer: %s: %w", m.Name, err)
		}
		e.Models, e.recons = append(e.Models, m.Name), append(e.recons, r)
		e.Optimizers = append(e.Optimizers, fmt.Sprintf("%s lr %g", m.Config.Optimizer, m.Config.LearningRate))
		if m.Name == spectralOf {
			e.spectralOf = i
		}
	}
	if e.spectralOf < 0 {
		return nil, fmt.Errorf("explorer: spectral control of %q, which is not among %v", spectralOf, e.Models)
	}
	return e, nil
}

// At reconstructs the target from every model under the norm constraint ‖x‖ ≤ norm, in steps gradient steps.
func (e *Explorer) At(norm float64, steps int) (*View, error) {
	return e.AtContext(context.Background(), norm, steps)
}

// AtContext is At that stops with ctx's error as soon as ctx is done (a newer request replaces this one).
func (e *Explorer) AtContext(ctx context.Context, norm float64, steps int) (*View, error) {
	if !(norm > 0) || steps < 1 {
		return nil, fmt.Errorf("explorer: norm %v and %d steps, want both > 0", norm, steps)
	}
	start := time.Now()
	v := &View{Norm: norm, Steps: steps}
	problem := []recon.Problem{{Target: float32s(e.Target), Norm: norm}}
	for i, r := range e.recons {
		out, err := r.SolveContext(ctx, problem, steps, nil)
		if err != nil {
			return nil, fmt.Errorf("explorer: %s: %w", e.Models[i], err)
		}
		x := floats64(out.Images[0])
		v.Images = append(v.Images, x)
		v.Loss = append(v.Loss, out.Loss[0])
		v.Achieved = append(v.Achieved, out.FinalNorm[0])
		v.Ratio = append(v.Ratio, saliency.NormalisedRatio(x, e.Clean, e.mask))
	}
	ctl, err := recon.SpectralControl(v.Images[e.spectralOf], e.Target, e.Size, e.Size)
	if err != nil {
		return nil, err
	}
	v.Spectral, v.SpectralRatio = ctl, saliency.NormalisedRatio(ctl, e.Clean, e.mask)
	v.Seconds = time.Since(start).Seconds()
	return v, nil
}

func float32s(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
