package data

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CheckReport prints what data are present, with counts per class, checksums and sources: `cotrain data check`.
// It returns an error, listing every problem, when Fashion-MNIST is missing or not the published data, a given Tiny
// ImageNet folder is unreadable, or photographs are missing or fail their checksum; the report is printed in full
// either way.
func CheckReport(w io.Writer, fmnistDir, tinDir, manifestFile, photoDir string) error {
	if fmnistDir == "" {
		fmnistDir = FashionMNISTDir
	}
	var problems []string
	fmt.Fprintf(w, "Fashion-MNIST (stands in for Tiny ImageNet; MIT licence, Zalando Research) in %s\n", fmnistDir)
	train, test, err := LoadFashionMNIST(fmnistDir)
	if err == nil {
		err = VerifyFashionMNIST(fmnistDir)
	}
	if err != nil {
		fmt.Fprintf(w, "  PROBLEM: %v\n", err)
		problems = append(problems, err.Error())
	} else {
		fmt.Fprintln(w, "  content verified against the published data set (sha256 of each file's content):")
		for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
			fmt.Fprintf(w, "  %-28s %s\n", f, FashionMNISTSHA256[f])
		}
		for _, s := range []*Set{train, test} {
			fmt.Fprintf(w, "  %-22s %6d images %d×%d, per class:", s.Name, s.N, s.W, s.H)
			for i, c := range s.ClassCounts() {
				fmt.Fprintf(w, " %s %d;", s.Classes[i], c)
			}
			fmt.Fprintln(w)
		}
		split := PaperSplit(train, test)
		fmt.Fprintf(w, "  paper split (seed %d): train %d, validation %d, test %d\n", SplitSeed, split.Train.N, split.Validation.N, split.Test.N)
	}
	if tinDir != "" {
		fmt.Fprintf(w, "Tiny ImageNet in %s\n", tinDir)
		if train, test, err := LoadTinyImageNet(tinDir); err != nil {
			fmt.Fprintf(w, "  PROBLEM: %v\n", err)
			problems = append(problems, err.Error())
		} else {
			fmt.Fprintf(w, "  %d classes; train %d, test (official validation) %d\n", len(train.Classes), train.N, test.N)
		}
	} else {
		fmt.Fprintln(w, "Tiny ImageNet: not given (-tin DIR); Fashion-MNIST stands in for it")
	}
	photos, err := LoadManifest(manifestFile)
	if err != nil {
		return err
	}
	present, bad := 0, 0
	byCat, byLicense := map[string]int{}, map[string]int{}
	for _, p := range photos {
		byCat[p.Category]++
		byLicense[p.License]++
		b, err := os.ReadFile(filepath.Join(photoDir, p.File()))
		switch {
		case err != nil:
		case sha256Hex(b) == p.SHA256:
			present++
		default:
			bad++
			fmt.Fprintf(w, "  CHECKSUM MISMATCH: %s\n", filepath.Join(photoDir, p.File()))
		}
	}
	fmt.Fprintf(w, "Natural photographs (manifest %s): %d listed, %d present and verified in %s", manifestFile, len(photos), present, photoDir)
	if present < len(photos) {
		fmt.Fprint(w, " (run `cotrain data fetch`)")
	}
	fmt.Fprintf(w, "\n  by category %v\n  by licence %v\n", byCat, byLicense)
	if len(photos) > 0 {
		fmt.Fprintf(w, "  source: Debian package %s %s (GCompris educational suite; authors and licences per photo in the manifest)\n", photos[0].Package, photos[0].Version)
	}
	if bad > 0 {
		problems = append(problems, fmt.Sprintf("%d photos fail their checksum", bad))
	}
	if missing := len(photos) - present - bad; missing > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d photos missing from %s (run `cotrain data fetch`)", missing, len(photos), photoDir))
	}
	if len(problems) > 0 {
		return fmt.Errorf("data check: %s", strings.Join(problems, "; "))
	}
	return nil
}
