// Package data provides the data of Section 2: the classification data sets, the paper's split, preprocessing and
// augmentation, and the natural photographs.
//
// The classification data are Tiny ImageNet, and Fashion-MNIST standing in for it; the natural photographs are those
// from which the virtual V1 experiment and the saliency analysis cut their stimuli.
package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Set is a labelled image data set held in memory as 8-bit pixels, images stored one after another, each row by row
// with interleaved channels.
type Set struct {
	Name    string   // e.g. "fashion-mnist/train"
	Source  string   // where it was read from
	N       int      // number of images
	H, W, C int      // image size and channels (1 = grayscale, 3 = RGB)
	Pix     []uint8  // N·H·W·C values
	Labels  []int    // N labels in [0, len(Classes))
	Classes []string // class names
}

// Image returns the pixels of image i (a slice of Pix).
func (s *Set) Image(i int) []uint8 {
	n := s.H * s.W * s.C
	return s.Pix[i*n : (i+1)*n]
}

// Transformed returns a copy of the set, named name, with transform applied to each image in place (epoch 0, the
// image's index): the corrupted test sets, for instance. The labels are shared.
func (s *Set) Transformed(name string, transform func(epoch, i int, img []uint8)) *Set {
	out := *s
	out.Name = name
	out.Pix = append([]uint8(nil), s.Pix...)
	for i := range s.N {
		transform(0, i, out.Image(i))
	}
	return &out
}

// Subset returns the images at the given indices, in that order, as a new Set.
func (s *Set) Subset(name string, idx []int) *Set {
	n := s.H * s.W * s.C
	out := &Set{Name: name, Source: s.Source, N: len(idx), H: s.H, W: s.W, C: s.C, Classes: s.Classes,
		Pix: make([]uint8, len(idx)*n), Labels: make([]int, len(idx))}
	for k, i := range idx {
		copy(out.Pix[k*n:(k+1)*n], s.Image(i))
		out.Labels[k] = s.Labels[i]
	}
	return out
}

// ClassCounts returns the number of images per class.
func (s *Set) ClassCounts() []int {
	counts := make([]int, len(s.Classes))
	for _, l := range s.Labels {
		counts[l]++
	}
	return counts
}

// Validate checks sizes and labels.
func (s *Set) Validate() error {
	switch {
	case s.N < 0 || s.H <= 0 || s.W <= 0 || (s.C != 1 && s.C != 3):
		return fmt.Errorf("%s: bad shape %d×%d×%d×%d", s.Name, s.N, s.H, s.W, s.C)
	case len(s.Pix) != s.N*s.H*s.W*s.C:
		return fmt.Errorf("%s: %d pixel values for %d images of %d×%d×%d", s.Name, len(s.Pix), s.N, s.H, s.W, s.C)
	case len(s.Labels) != s.N:
		return fmt.Errorf("%s: %d labels for %d images", s.Name, len(s.Labels), s.N)
	}
	for i, l := range s.Labels {
		if l < 0 || l >= len(s.Classes) {
			return fmt.Errorf("%s: image %d has label %d, want 0…%d", s.Name, i, l, len(s.Classes)-1)
		}
	}
	return nil
}

// SplitSeed is the seed of the paper's train/validation split (the authors' loaders force seed 1000; the paper says
// only that it tests on the validation set).
const SplitSeed = 1000

// Split is the paper's split: a fixed-seed 90/10 split of the official training set into training and validation,
// and the official test set (Tiny ImageNet's validation set) as test.
type Split struct {
	Train, Validation, Test *Set
}

// PaperSplit shuffles the training set's indices with SplitSeed and keeps the first 10 % for validation, the rest for
// training (the authors used NumPy's permutation; this uses Go's PCG, so the membership differs but not the recipe).
func PaperSplit(train, test *Set) Split {
	rng := rand.New(rand.NewPCG(SplitSeed, 0))
	perm := rng.Perm(train.N)
	nVal := train.N / 10
	val := append([]int(nil), perm[:nVal]...)
	tr := append([]int(nil), perm[nVal:]...)
	sort.Ints(val)
	sort.Ints(tr)
	return Split{
		Train:      train.Subset(train.Name+"[train 90%]", tr),
		Validation: train.Subset(train.Name+"[validation 10%]", val),
		Test:       test,
	}
}

// Stratified returns perClass images of every class (or all of a class that has fewer), chosen with seed, in a
// shuffled order: the small, balanced subsets of the smoke and mini scales.
func Stratified(s *Set, perClass int, seed uint64) *Set {
	rng := rand.New(rand.NewPCG(seed, 1))
	byClass := make([][]int, len(s.Classes))
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	var idx []int
	for _, members := range byClass {
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		idx = append(idx, members[:min(perClass, len(members))]...)
	}
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return s.Subset(fmt.Sprintf("%s[%d per class, seed %d]", s.Name, perClass, seed), idx)
}

// Gray converts an RGB set to grayscale with PIL's "L" weights (ITU-R 601-2: 299/587/114 per mille, rounded), the
// conversion of the paper's corrupted-test pipeline. (Its training pipeline converts tensors with 0.2989/0.587/0.114;
// on 8-bit pixels the two differ by at most one grey level.) A grayscale set is returned as is.
func Gray(s *Set) *Set {
	if s.C == 1 {
		return s
	}
	out := *s
	out.C = 1
	out.Pix = make([]uint8, s.N*s.H*s.W)
	for i := range out.Pix {
		r, g, b := uint32(s.Pix[3*i]), uint32(s.Pix[3*i+1]), uint32(s.Pix[3*i+2])
		out.Pix[i] = uint8((r*19595 + g*38470 + b*7471 + 0x8000) >> 16)
	}
	return &out
}

// Fit brings every image to size×size: images smaller than size are enlarged by the largest integer factor that
// fits (bilinear) and centred with zero padding (Fashion-MNIST's 28×28 becomes 28 + 2 px of padding at 32, or ×2 and
// 4 px of padding at 64); larger images are resized (bilinear).
func Fit(s *Set, size int) *Set {
	if s.H == size && s.W == size {
		return s
	}
	out := &Set{Name: fmt.Sprintf("%s@%d", s.Name, size), Source: s.Source, N: s.N, H: size, W: size, C: s.C,
		Labels: s.Labels, Classes: s.Classes, Pix: make([]uint8, s.N*size*size*s.C)}
	k := size / max(s.H, s.W)
	th, tw := s.H*k, s.W*k
	if k < 1 {
		th, tw = size, size
	}
	oy, ox := (size-th)/2, (size-tw)/2
	n := size * size * s.C
	for i := range s.N {
		src := s.Image(i)
		dst := out.Pix[i*n : (i+1)*n]
		for y := range th {
			for x := range tw {
				// Bilinear sample with pixel centres aligned (as PIL's resize).
				sy := (float64(y)+0.5)*float64(s.H)/float64(th) - 0.5
				sx := (float64(x)+0.5)*float64(s.W)/float64(tw) - 0.5
				for c := range s.C {
					dst[((oy+y)*size+ox+x)*s.C+c] = bilinear(src, s.H, s.W, s.C, c, sy, sx)
				}
			}
		}
	}
	return out
}

func bilinear(src []uint8, h, w, ch, c int, y, x float64) uint8 {
	y = math.Max(0, math.Min(float64(h-1), y))
	x = math.Max(0, math.Min(float64(w-1), x))
	y0, x0 := int(y), int(x)
	y1, x1 := min(y0+1, h-1), min(x0+1, w-1)
	dy, dx := y-float64(y0), x-float64(x0)
	at := func(yy, xx int) float64 { return float64(src[(yy*w+xx)*ch+c]) }
	v := (1-dy)*((1-dx)*at(y0, x0)+dx*at(y0, x1)) + dy*((1-dx)*at(y1, x0)+dx*at(y1, x1))
	return uint8(math.Round(v))
}

// Stats are the normalisation constants of a training set (on the [0, 1] scale, as torchvision's Normalize).
type Stats struct {
	Mean   float64 `json:"mean"`
	Std    float64 `json:"std"`
	Images int     `json:"images"`
	Source string  `json:"source"`
}

// ComputeStats returns the mean and standard deviation of all pixel values of s divided by 255 (the paper's
// grayscale Tiny ImageNet values are mean 0.4519, std 0.2221).
func ComputeStats(s *Set) Stats {
	var sum, sq float64
	for _, p := range s.Pix {
		v := float64(p) / 255
		sum += v
		sq += v * v
	}
	n := float64(len(s.Pix))
	mean := sum / n
	return Stats{Mean: mean, Std: math.Sqrt(math.Max(sq/n-mean*mean, 0)), Images: s.N, Source: s.Name}
}
