package study

import (
	"fmt"
	"os"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/provenance"
	"github.com/robustvision/cotrain/pkg/record"
	"github.com/robustvision/cotrain/pkg/scales"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// The virtual monkey: the Recording stage simulates V1 responses to images of the classification distribution held
// out of every classification split (Scale.Data.HoldoutPerClass), as the paper's monkeys saw ImageNet images while
// the networks learned Tiny ImageNet: the predictor's training images, the MTL targets' images and the FEVe test
// images share one distribution and one normalisation.

// V1Seed is the seed of the virtual monkey of every scale; V1Stage is its stage (and folder).
const (
	V1Seed  = 1
	V1Stage = "v1sim"
)

// recordingStage simulates the scale's recording into the stage's folder.
func (r *Runner) recordingStage(st Stage, rec *record.Stage) error {
	d, err := r.SimulateV1(st.Seed, nil)
	if err != nil {
		return err
	}
	rec.Results["neurons"] = float64(d.NumNeurons())
	rec.Results["images"] = float64(d.N)
	return d.Write(r.Dir(st.ID))
}

// SimulateV1 records the scale's population with seed on the held-out classification images, or on patches of
// photos when given (cotrain v1sim -natural or -photos), in memory.
func (r *Runner) SimulateV1(seed uint64, photos []data.PhotoImage) (*neural.Dataset, error) {
	var d *neural.Dataset
	var stimuli string
	var err error
	if photos != nil {
		stimuli = fmt.Sprintf("patches of %d photographs", len(photos))
		d, _, err = v1sim.Simulate(photos, r.Scale.V1, v1sim.DefaultPopulation, seed)
	} else {
		p, perr := r.Images()
		if perr != nil {
			return nil, perr
		}
		if p.Holdout == nil {
			return nil, fmt.Errorf("the %s scale holds no images out for the V1 experiment (Data.HoldoutPerClass)", r.Scale.Name)
		}
		stimuli = p.Holdout.Name
		d, _, err = v1sim.SimulateOn(p.Holdout.Pix, p.Holdout.N, r.Scale.V1, v1sim.DefaultPopulation, seed)
	}
	if err != nil {
		return nil, err
	}
	// Provenance without date and wall time: the same scale and seed give the same files.
	d.Meta.Provenance = map[string]any{"seed": seed, "scale": r.Scale.Name, "protocol": r.Scale.V1,
		"population": v1sim.DefaultPopulation, "stimuli": stimuli}
	return d, nil
}

// Monkey returns the scale's (virtual) recording, from the Recording stage's folder, and the simulated neurons.
func (r *Runner) Monkey() (*neural.Dataset, []v1sim.Neuron, error) {
	if r.monkey == nil {
		d, err := neural.Load(r.Dir(V1Stage))
		if err != nil {
			return nil, nil, fmt.Errorf("the virtual monkey's recording: %w (cotrain reproduce -scale %s -only %s makes it)",
				err, r.Scale.Name, V1Stage)
		}
		r.monkey, r.neurons = d, v1sim.Population(v1sim.DefaultPopulation, r.Scale.V1.Neurons, V1Seed)
	}
	return r.monkey, r.neurons, nil
}

// VirtualMonkey returns the scale's simulated V1 recording and its neurons, simulating it into the cache under root
// first if it is not there (as `cotrain reproduce -only v1sim` would).
func VirtualMonkey(root string, s scales.Scale) (*neural.Dataset, []v1sim.Neuron, error) {
	r := &Runner{Root: root, Scale: s}
	byID, err := r.statusByID()
	if err == nil && byID[V1Stage].State != Done {
		if r.Backend, err = backend.New("cpu"); err == nil {
			err = r.Reproduce([]string{V1Stage})
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return r.Monkey()
}

// RecordV1 simulates the recording with another seed, or on patches of photos, into the scale's cache (`cotrain
// v1sim`). It takes the stage's lock and records the stage with a key of its own, so that status shows the recording,
// and every stage made from the previous one, as stale.
func (r *Runner) RecordV1(seed uint64, photos []data.PhotoImage) (*neural.Dataset, error) {
	unlock, err := r.lockStage(V1Stage)
	if err != nil {
		return nil, err
	}
	defer unlock()
	d, err := r.SimulateV1(seed, photos)
	if err != nil {
		return nil, err
	}
	dir := r.Dir(V1Stage)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := d.Write(dir); err != nil {
		return nil, err
	}
	st := Stage{ID: V1Stage, Kind: Recording, Seed: seed}
	cfg, err := r.Config(st)
	if err != nil {
		return nil, err
	}
	key, err := Key(cfg, nil, nil)
	if err != nil {
		return nil, err
	}
	if photos != nil {
		key = "photos-" + key
	}
	rec := &record.Stage{ID: V1Stage, Model: st.label(), Key: key, Provenance: provenance.New().Finish(),
		Results: map[string]float64{"neurons": float64(d.NumNeurons()), "images": float64(d.N)}}
	_, err = rec.Write(dir)
	return d, err
}
