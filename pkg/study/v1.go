package study

import (
	"os"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/neural"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// V1Seed is the seed of the virtual monkey of every scale.
const V1Seed = 1

// VirtualMonkey returns the scale's simulated V1 recording and its neurons: read from the cache under root if
// present (in its v1sim/ folder), else simulated (from the photographs, fetched if needed) and cached.
func VirtualMonkey(root string, s Scale) (*neural.Dataset, []v1sim.Neuron, error) {
	return v1sim.Cached(filepath.Join(root, CacheDir(s), "v1sim"), s.V1, V1Seed, s.Name, func() ([]data.PhotoImage, error) { return Photos(root) })
}

// Photos returns the natural photographs of data/photos.tsv, fetched from their Debian packages into PhotoDir if
// they are not there yet.
func Photos(root string) ([]data.PhotoImage, error) {
	manifest, err := data.LoadManifest(filepath.Join(root, "data", "photos.tsv"))
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, PhotoDir)
	if err := data.FetchPhotos(manifest, dir, "", os.Stderr); err != nil {
		return nil, err
	}
	return data.LoadPhotos(manifest, dir)
}
