// Package neural holds the neural data of Section 2 in one on-disk format, and the measures of neural predictivity
// (FEV, FEVe).
//
// The data are V1 responses to images, recorded in sessions; the format is shared by the virtual V1 simulator, the
// response predictor and converted real recordings. The measures are the fraction of explainable variance of the
// data (FEV) and the fraction of explainable variance a model explains (FEVe; the paper's "FEV as in Cadena et al.
// 2019").
//
// Format (one folder):
//
//	meta.json                     ppd, image size, time window, source, sessions with their neuron ids (see Meta)
//	images.npy                    uint8 [N, H, W]: every stimulus image, referenced by index
//	<session>/train_image_ids.npy int64 [trials]: the image shown in each training trial (each image once per trial)
//	<session>/train_responses.npy float32 [trials, neurons]: spike counts in the response window
//	<session>/test_image_ids.npy  int64 [repeats×images]: the held-out test images, each shown many times
//	<session>/test_responses.npy  float32 [repeats×images, neurons]; NaN marks a missing repeat
//	noise_free.npy                (simulated data only) float32 [N, all neurons]: the noise-free mean counts
//	true_fev.npy                  (simulated data only) float32 [all neurons]: each neuron's true explainable
//	                              variance fraction on the test images
//
// This is the content of the authors' per-session files (their nnvision loader). Neurons are numbered across sessions
// in the order the sessions are listed.
package neural

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Meta is meta.json.
type Meta struct {
	Source     string       `json:"source"`    // e.g. "simulated V1 (cotrain v1sim, seed 1)" or a recording's name
	Simulated  bool         `json:"simulated"` // true for the virtual V1: noise_free.npy and true_fev.npy exist
	PPD        float64      `json:"ppd"`       // pixels per degree of the images
	ImageSize  int          `json:"image_size"`
	WindowMs   [2]float64   `json:"window_ms"` // response window after stimulus onset
	Sessions   []SessionRef `json:"sessions"`
	Provenance any          `json:"provenance,omitempty"`
}

// SessionRef names a session and the ids of its neurons.
type SessionRef struct {
	ID      string `json:"id"`
	Neurons []int  `json:"neurons"`
}

// Session is one recording session's data.
type Session struct {
	ID             string
	Neurons        []int     // global neuron ids
	TrainImageIDs  []int64   // [trials]
	TrainResponses []float32 // [trials × neurons]
	TestImageIDs   []int64   // [repeats×images]
	TestResponses  []float32 // [repeats×images × neurons]
}

// Dataset is a neural data set in memory.
type Dataset struct {
	Dir       string
	Meta      Meta
	Images    []uint8 // [N × H × W]
	N, H, W   int
	Sessions  []Session
	NoiseFree []float32 // simulated only: [N × all neurons]
	TrueFEV   []float32 // simulated only: [all neurons]
}

// NumNeurons is the number of neurons over all sessions.
func (d *Dataset) NumNeurons() int {
	n := 0
	for _, s := range d.Sessions {
		n += len(s.Neurons)
	}
	return n
}

// Image returns image i.
func (d *Dataset) Image(i int) []uint8 { return d.Images[i*d.H*d.W : (i+1)*d.H*d.W] }

// Write saves the dataset in the folder dir (files are written atomically; meta.json last, so a folder with a
// meta.json is complete).
func (d *Dataset) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeNPY(filepath.Join(dir, "images.npy"), []int{d.N, d.H, d.W}, d.Images); err != nil {
		return err
	}
	for _, s := range d.Sessions {
		sd := filepath.Join(dir, s.ID)
		n := len(s.Neurons)
		if err := writeNPY(filepath.Join(sd, "train_image_ids.npy"), []int{len(s.TrainImageIDs)}, s.TrainImageIDs); err != nil {
			return err
		}
		if err := writeNPY(filepath.Join(sd, "train_responses.npy"), []int{len(s.TrainImageIDs), n}, s.TrainResponses); err != nil {
			return err
		}
		if err := writeNPY(filepath.Join(sd, "test_image_ids.npy"), []int{len(s.TestImageIDs)}, s.TestImageIDs); err != nil {
			return err
		}
		if err := writeNPY(filepath.Join(sd, "test_responses.npy"), []int{len(s.TestImageIDs), n}, s.TestResponses); err != nil {
			return err
		}
	}
	if d.Meta.Simulated {
		if err := writeNPY(filepath.Join(dir, "noise_free.npy"), []int{d.N, d.NumNeurons()}, d.NoiseFree); err != nil {
			return err
		}
		if err := writeNPY(filepath.Join(dir, "true_fev.npy"), []int{d.NumNeurons()}, d.TrueFEV); err != nil {
			return err
		}
	}
	return provenance.WriteJSON(filepath.Join(dir, "meta.json"), d.Meta)
}

// Load reads and validates a dataset folder. Every error names the file and what is wrong with it.
func Load(dir string) (*Dataset, error) {
	metaPath := filepath.Join(dir, "meta.json")
	raw, err := os.ReadFile(metaPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: missing (not a neural dataset folder, or an incomplete one)", metaPath)
		}
		return nil, err
	}
	d := &Dataset{Dir: dir}
	if err := json.Unmarshal(raw, &d.Meta); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %w", metaPath, err)
	}
	if len(d.Meta.Sessions) == 0 {
		return nil, fmt.Errorf("%s: no sessions", metaPath)
	}
	if d.Meta.PPD <= 0 || d.Meta.ImageSize <= 0 {
		return nil, fmt.Errorf("%s: ppd %v and image_size %d must be positive", metaPath, d.Meta.PPD, d.Meta.ImageSize)
	}
	imgPath := filepath.Join(dir, "images.npy")
	images, shape, err := readNPY[uint8](imgPath)
	if err != nil {
		return nil, err
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("%s: shape %v, want [images, height, width]", imgPath, shape)
	}
	if shape[1] != d.Meta.ImageSize || shape[2] != d.Meta.ImageSize {
		return nil, fmt.Errorf("%s: images are %d×%d, meta.json says %d", imgPath, shape[1], shape[2], d.Meta.ImageSize)
	}
	d.Images, d.N, d.H, d.W = images, shape[0], shape[1], shape[2]
	seen := map[int]string{}
	total := 0
	for _, ref := range d.Meta.Sessions {
		if len(ref.Neurons) == 0 {
			return nil, fmt.Errorf("%s: session %q has no neurons", metaPath, ref.ID)
		}
		if ref.ID == "" || ref.ID != filepath.Base(ref.ID) || ref.ID == "." || ref.ID == ".." {
			return nil, fmt.Errorf("%s: session id %q is not a folder name", metaPath, ref.ID)
		}
		for _, n := range ref.Neurons {
			if other, dup := seen[n]; dup {
				return nil, fmt.Errorf("%s: neuron %d is in sessions %q and %q", metaPath, n, other, ref.ID)
			}
			seen[n] = ref.ID
		}
		total += len(ref.Neurons)
		s, err := d.loadSession(ref)
		if err != nil {
			return nil, err
		}
		d.Sessions = append(d.Sessions, s)
	}
	if d.Meta.Simulated {
		nfPath := filepath.Join(dir, "noise_free.npy")
		nf, shape, err := readNPY[float32](nfPath)
		if err != nil {
			return nil, err
		}
		if len(shape) != 2 || shape[0] != d.N || shape[1] != total {
			return nil, fmt.Errorf("%s: shape %v, want [%d images, %d neurons]", nfPath, shape, d.N, total)
		}
		evPath := filepath.Join(dir, "true_fev.npy")
		ev, shape, err := readNPY[float32](evPath)
		if err != nil {
			return nil, err
		}
		if len(shape) != 1 || shape[0] != total {
			return nil, fmt.Errorf("%s: shape %v, want [%d neurons]", evPath, shape, total)
		}
		for _, f := range []struct {
			path string
			v    []float32
		}{{nfPath, nf}, {evPath, ev}} {
			for i, v := range f.v {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return nil, fmt.Errorf("%s: %v at element %d (the ground truth must be finite)", f.path, v, i)
				}
			}
		}
		d.NoiseFree, d.TrueFEV = nf, ev
	}
	return d, nil
}

func (d *Dataset) loadSession(ref SessionRef) (Session, error) {
	sd := filepath.Join(d.Dir, ref.ID)
	s := Session{ID: ref.ID, Neurons: ref.Neurons}
	n := len(ref.Neurons)
	for _, part := range []struct {
		name string
		ids  *[]int64
		resp *[]float32
		nan  bool // NaN allowed (missing repeats)
	}{{"train", &s.TrainImageIDs, &s.TrainResponses, false}, {"test", &s.TestImageIDs, &s.TestResponses, true}} {
		idPath := filepath.Join(sd, part.name+"_image_ids.npy")
		ids, shape, err := readNPY[int64](idPath)
		if err != nil {
			return s, err
		}
		if len(shape) != 1 {
			return s, fmt.Errorf("%s: shape %v, want [trials]", idPath, shape)
		}
		for t, id := range ids {
			if id < 0 || int(id) >= d.N {
				return s, fmt.Errorf("%s: trial %d shows image %d, but images.npy has %d images", idPath, t, id, d.N)
			}
		}
		respPath := filepath.Join(sd, part.name+"_responses.npy")
		resp, rshape, err := readNPY[float32](respPath)
		if err != nil {
			return s, err
		}
		if len(rshape) != 2 || rshape[0] != len(ids) || rshape[1] != n {
			return s, fmt.Errorf("%s: shape %v, want [%d trials, %d neurons] (from %s and meta.json)", respPath, rshape, len(ids), n, filepath.Base(idPath))
		}
		for i, v := range resp {
			if math.IsNaN(float64(v)) && !part.nan {
				return s, fmt.Errorf("%s: NaN at trial %d, neuron %d (training responses must be complete)", respPath, i/n, i%n)
			}
			if math.IsInf(float64(v), 0) || v < 0 {
				return s, fmt.Errorf("%s: invalid spike count %v at trial %d, neuron %d", respPath, v, i/n, i%n)
			}
		}
		*part.ids, *part.resp = ids, resp
	}
	return s, nil
}
