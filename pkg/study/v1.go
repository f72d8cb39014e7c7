package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// V1Seed is the seed of the virtual monkey of every scale.
const V1Seed = 1

// V1Dir is where a scale's simulated recording is cached.
func V1Dir(root string, s Scale) string { return filepath.Join(root, CacheDir(s), "v1sim") }

// VirtualMonkey returns the scale's simulated V1 recording and its neurons: read from the cache under root if
// present, else simulated (from the photographs, fetched if needed) and cached.
func VirtualMonkey(root string, s Scale) (*neural.Dataset, []v1sim.Neuron, error) {
	dir := V1Dir(root, s)
	neurons := v1sim.Population(v1sim.DefaultPopulation, s.V1.Neurons, V1Seed)
	d, err := neural.Load(dir)
	if err == nil && sameProtocol(d, s.V1) {
		return d, neurons, nil
	}
	if err == nil { // simulated with another protocol: simulate afresh
		if err := os.RemoveAll(dir); err != nil {
			return nil, nil, err
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, "meta.json")); err != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("cached simulated recording: %w", err)
	}
	manifest, err := data.LoadManifest(filepath.Join(root, "data", "photos.tsv"))
	if err != nil {
		return nil, nil, err
	}
	photoDir := filepath.Join(root, PhotoDir)
	if err := data.FetchPhotos(manifest, photoDir, "", os.Stderr); err != nil {
		return nil, nil, err
	}
	photos, err := data.LoadPhotos(manifest, photoDir)
	if err != nil {
		return nil, nil, err
	}
	d, neurons, err = v1sim.Simulate(photos, s.V1, v1sim.DefaultPopulation, V1Seed)
	if err != nil {
		return nil, nil, err
	}
	d.Meta.Provenance = map[string]any{"seed": V1Seed, "scale": s.Name, "protocol": s.V1, "population": v1sim.DefaultPopulation}
	if err := d.Write(dir); err != nil {
		return nil, nil, err
	}
	return d, neurons, nil
}

// sameProtocol reports whether a cached recording was simulated with protocol p (its provenance records it).
func sameProtocol(d *neural.Dataset, p v1sim.Protocol) bool {
	prov, ok := d.Meta.Provenance.(map[string]any)
	if !ok {
		return false
	}
	b, err := json.Marshal(prov["protocol"])
	var got v1sim.Protocol
	return err == nil && json.Unmarshal(b, &got) == nil && got == p
}
