package v1sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
)

// Cached returns the recording simulated with protocol p and seed from the folder dir (neural format) if it holds
// one, else simulates it — from the photographs that photos returns, only then called — and writes it there.
// A recording simulated with another protocol is replaced; label goes into the recording's provenance.
func Cached(dir string, p Protocol, seed uint64, label string, photos func() ([]data.PhotoImage, error)) (*neural.Dataset, []Neuron, error) {
	neurons := Population(DefaultPopulation, p.Neurons, seed)
	d, err := neural.Load(dir)
	switch {
	case err == nil && sameProtocol(d, p):
		return d, neurons, nil
	case err == nil: // simulated with another protocol: simulate afresh
		if err := os.RemoveAll(dir); err != nil {
			return nil, nil, err
		}
	default:
		if _, statErr := os.Stat(filepath.Join(dir, "meta.json")); !errors.Is(statErr, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("cached simulated recording: %w", err)
		}
	}
	imgs, err := photos()
	if err != nil {
		return nil, nil, err
	}
	d, neurons, err = Simulate(imgs, p, DefaultPopulation, seed)
	if err != nil {
		return nil, nil, err
	}
	d.Meta.Provenance = map[string]any{"seed": seed, "scale": label, "protocol": p, "population": DefaultPopulation}
	if err := d.Write(dir); err != nil {
		return nil, nil, err
	}
	return d, neurons, nil
}

// sameProtocol reports whether a cached recording was simulated with protocol p (its provenance records it).
func sameProtocol(d *neural.Dataset, p Protocol) bool {
	prov, ok := d.Meta.Provenance.(map[string]any)
	if !ok {
		return false
	}
	b, err := json.Marshal(prov["protocol"])
	var got Protocol
	return err == nil && json.Unmarshal(b, &got) == nil && got == p
}
