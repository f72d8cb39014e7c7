package corrupt

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/robustvision/cotrain/pkg/imgproc"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// ReadPNG reads a PNG file as an Image: grayscale PNGs give one channel, all others three (alpha dropped).
func ReadPNG(path string) (Image, error) {
	data, err := imgproc.ReadFile(path) // a regular file of bounded size
	if err != nil {
		return Image{}, err
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		if need := MemoryNeeded(Image{H: cfg.Height, W: cfg.Width}); need > MemoryBudget {
			return Image{}, fmt.Errorf("%s: a %d×%d image needs about %d MiB to corrupt, more than the budget of %d MiB: "+
				"shrink it, or raise the budget (cotrain corrupt -max-memory)", path, cfg.Width, cfg.Height, need>>20,
				MemoryBudget>>20)
		}
	}
	src, err := imgproc.Decode(data) // the size its header claims is checked before decoding
	if err != nil {
		return Image{}, fmt.Errorf("%s: %w", path, err)
	}
	c := 3
	if _, ok := src.(*image.Gray); ok {
		c = 1
	}
	return FromStd(src, c), nil
}

// WritePNG writes img as a PNG file through a temporary file and a rename.
func WritePNG(path string, img Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img.ToStd()); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return provenance.WriteFileAtomic(path, buf.Bytes())
}

// FileJob describes a batch of PNG files to corrupt (the `cotrain corrupt` command).
type FileJob struct {
	Names      []string // corruptions to apply
	Severities []int    // severities to apply
	Seed       uint64
	Preset     Preset
	In, Out    string // a PNG file or a folder of PNG files; the output file or folder
}

// Run corrupts the input files and returns the paths written. With one input file, one corruption and one
// severity, Out is the output file; otherwise Out is a folder and each output is named
// <input>_<corruption>_s<severity>.png. The seed of each image is Seed plus its index in the sorted input list, so
// a folder's images get different noise but the same command gives the same files.
func (j FileJob) Run(progress func(done, total int)) ([]string, error) {
	st, err := os.Stat(j.In)
	if err != nil {
		return nil, fmt.Errorf("-in: %w", err)
	}
	var inputs []string
	if st.IsDir() {
		entries, err := os.ReadDir(j.In)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
				inputs = append(inputs, filepath.Join(j.In, e.Name()))
			}
		}
		sort.Strings(inputs)
		if len(inputs) == 0 {
			return nil, fmt.Errorf("-in %s: no PNG files in this folder", j.In)
		}
	} else {
		inputs = []string{j.In}
	}
	for _, n := range j.Names {
		if _, err := Lookup(n); err != nil {
			return nil, err
		}
	}
	single := !st.IsDir() && len(j.Names) == 1 && len(j.Severities) == 1
	if single && !strings.EqualFold(filepath.Ext(j.Out), ".png") {
		single = false // an output folder was given
	}
	total := len(inputs) * len(j.Names) * len(j.Severities)
	outPath := func(in, n string, sev int) string {
		if single {
			return j.Out
		}
		base := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		return filepath.Join(j.Out, fmt.Sprintf("%s_%s_s%d.png", base, n, sev))
	}
	// No output may replace an input.
	isInput := map[string]string{}
	for _, in := range inputs {
		abs, _ := filepath.Abs(in)
		isInput[abs] = in
	}
	for _, in := range inputs {
		for _, n := range j.Names {
			for _, sev := range j.Severities {
				if abs, _ := filepath.Abs(outPath(in, n, sev)); isInput[abs] != "" {
					return nil, fmt.Errorf("-out: %s would overwrite the input %s", outPath(in, n, sev), isInput[abs])
				}
			}
		}
	}
	var written []string
	for i, in := range inputs {
		img, err := ReadPNG(in)
		if err != nil {
			return written, err
		}
		if err := img.Validate(); err != nil {
			return written, fmt.Errorf("%s: %w", in, err)
		}
		for _, n := range j.Names {
			for _, sev := range j.Severities {
				out, err := Apply(img, n, sev, j.Seed+uint64(i), j.Preset)
				if err != nil {
					return written, fmt.Errorf("%s: %w", in, err)
				}
				path := outPath(in, n, sev)
				if err := WritePNG(path, out); err != nil {
					return written, err
				}
				written = append(written, path)
				if progress != nil {
					progress(len(written), total)
				}
			}
		}
	}
	return written, nil
}
