package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/scales"
)

const dataUsage = `Usage: cotrain data <check|fetch|prepare|manifest> [flags]

  check     print what data are present: counts per class, checksums, sources
  fetch     obtain the natural photographs listed in data/photos.tsv from their Debian package (no root needed)
            and verify their checksums
  prepare   load, split (seed 1000, 90/10) and subset the classification data of a scale; cache its statistics
  manifest  (maintainers) rebuild data/photos.tsv from a gcompris-qt-data .deb file

Run "cotrain data <command> -h" for its flags.
`

func runData(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprint(stdout, dataUsage)
		if len(args) == 0 {
			return usageError{fmt.Errorf("missing data command")}
		}
		return nil
	}
	switch args[0] {
	case "check":
		fs := newFlagSet("data check", "Print what data are present, with counts per class, checksums and sources.", stdout)
		dir := fs.String("data-dir", "", "Fashion-MNIST folder (default "+data.FashionMNISTDir+")")
		tin := fs.String("tin", "", "Tiny ImageNet folder, if you have it")
		manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
		photos := fs.String("photos-dir", scales.PhotoDir, "where fetched photos are kept")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if _, err := inRepository(fs, "manifest", "photos-dir"); err != nil {
			return err
		}
		return data.CheckReport(stdout, *dir, *tin, *manifest, *photos)
	case "fetch":
		fs := newFlagSet("data fetch", `Obtain the photographs of the manifest: apt-get download of the Debian package named in
it, dpkg-deb -x into a temporary folder, extraction and checksum verification. Photos already present and verified
are skipped.`, stdout)
		manifest := fs.String("manifest", filepath.Join("data", "photos.tsv"), "photo manifest")
		photos := fs.String("photos-dir", scales.PhotoDir, "where to keep the photos")
		debDir := fs.String("deb-dir", "", "folder with the .deb file already downloaded (skips apt-get download)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if _, err := inRepository(fs, "manifest", "photos-dir"); err != nil {
			return err
		}
		list, err := data.LoadManifest(*manifest)
		if err != nil {
			return err
		}
		return data.FetchPhotos(list, *photos, *debDir, stdout)
	case "prepare":
		fs := newFlagSet("data prepare", "Load and split the classification data of a scale and cache the normalisation statistics.", stdout)
		scaleName := fs.String("scale", scales.Mini.Name, "smoke, mini, gpu or paper")
		dir := fs.String("data-dir", "", "data folder (default: Fashion-MNIST from its Debian package)")
		dataset := fs.String("dataset", "", "fmnist or tin (default: the scale's)")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		scale, err := scales.Lookup(*scaleName)
		if err != nil {
			return usageError{err}
		}
		cfg := scale.Data
		if *dir != "" {
			cfg.Dir = *dir
		}
		if *dataset != "" {
			cfg.Dataset = *dataset
		}
		// The scale's cached statistics describe the scale's own data: other data are described, not cached.
		statsFile := ""
		if cfg == scale.Data {
			root, err := scales.FindRoot("")
			if err != nil {
				return err
			}
			statsFile = filepath.Join(root, scales.CacheDir(scale), "stats.json")
		}
		p, err := data.Load(cfg, statsFile)
		if err != nil {
			return err
		}
		fmt.Fprint(stdout, p.Describe())
		return nil
	case "manifest":
		fs := newFlagSet("data manifest", "Rebuild the photo manifest from a gcompris-qt-data .deb (apt-get download gcompris-qt-data).", stdout)
		deb := fs.String("deb", "", "the .deb file (required)")
		out := fs.String("out", filepath.Join("data", "photos.tsv"), "manifest to write")
		if err := parse(fs, args[1:]); err != nil {
			return err
		}
		if *deb == "" {
			return usageError{fmt.Errorf("-deb is required")}
		}
		photos, err := data.BuildManifest(*deb)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d photos → %s\n", len(photos), *out)
		return data.WriteManifest(*out, photos)
	}
	fmt.Fprint(stdout, dataUsage)
	return usageError{fmt.Errorf("unknown data command %q", args[0])}
}
