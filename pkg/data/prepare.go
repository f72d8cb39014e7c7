package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/robustvision/cotrain/pkg/provenance"
)

// Classification describes the classification data of one scale of the study.
type Classification struct {
	Dataset       string // "fmnist" (Fashion-MNIST, the default stand-in) or "tin" (Tiny ImageNet)
	Dir           string // where the data are; "" means the default (FashionMNISTDir) for fmnist
	Size          int    // model input size (pixels)
	FirstTrain    int    // only the first N images of the training file (before the hold-out and the split); 0 = all
	TrainPerClass int    // stratified subset of the 90 % training split; 0 = all
	ValPerClass   int    // stratified subset of the 10 % validation split; 0 = all
	TestPerClass  int    // stratified subset of the test set; 0 = all
	Seed          uint64 // for the stratified subsets
	// HoldoutPerClass images of every class are taken out of the training set before the paper's split and kept
	// for the (virtual) V1 experiment's stimuli: images of the classification distribution that no classifier
	// trains on, as the paper's ImageNet stimuli are to Tiny ImageNet (the last images of each class, by index).
	HoldoutPerClass int
}

// Prepared is the classification data ready for training: grayscale, at the model's input size, split as the paper,
// with the training set's normalisation statistics, and the images held out for the V1 experiment.
type Prepared struct {
	Split
	Stats   Stats
	Holdout *Set // nil without HoldoutPerClass
}

// Load reads, converts, fits and splits the data set. statsFile, if not empty, caches the normalisation statistics:
// they are computed once from the training split, written atomically, and read back on later calls (recomputed if
// the file describes a different training set).
func Load(c Classification, statsFile string) (*Prepared, error) {
	var train, test *Set
	var err error
	switch c.Dataset {
	case "fmnist", "fashion-mnist", "":
		train, test, err = LoadFashionMNIST(c.Dir)
	case "tin", "tiny-imagenet":
		if c.Dir == "" {
			return nil, fmt.Errorf("Tiny ImageNet: give its folder with -data-dir")
		}
		train, test, err = LoadTinyImageNet(c.Dir)
	default:
		return nil, fmt.Errorf("unknown data set %q: want fmnist or tin", c.Dataset)
	}
	if err != nil {
		return nil, err
	}
	if train, err = firstImages(train, c.FirstTrain); err != nil {
		return nil, err
	}
	train, test = Fit(Gray(train), c.Size), Fit(Gray(test), c.Size)
	var holdout *Set
	if c.HoldoutPerClass > 0 {
		if train, holdout, err = HoldOut(train, c.HoldoutPerClass); err != nil {
			return nil, err
		}
	}
	split := PaperSplit(train, test)
	if c.TrainPerClass > 0 {
		split.Train = Stratified(split.Train, c.TrainPerClass, c.Seed)
	}
	if c.ValPerClass > 0 {
		split.Validation = Stratified(split.Validation, c.ValPerClass, c.Seed+1)
	}
	if c.TestPerClass > 0 {
		split.Test = Stratified(split.Test, c.TestPerClass, c.Seed+2)
	}
	for _, set := range []*Set{split.Train, split.Validation, split.Test} {
		if set.N == 0 {
			return nil, fmt.Errorf("%s: no images (data set %q in %q)", set.Name, c.Dataset, c.Dir)
		}
	}
	p := &Prepared{Split: split, Holdout: holdout}
	if statsFile != "" {
		if b, err := os.ReadFile(statsFile); err == nil {
			var s Stats
			if json.Unmarshal(b, &s) == nil && s.Source == split.Train.Name && s.Images == split.Train.N && s.Std > 0 {
				p.Stats = s
				return p, nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	p.Stats = ComputeStats(split.Train)
	if statsFile != "" {
		if err := provenance.WriteJSON(statsFile, p.Stats); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// firstImages keeps the first n images of s (all when n is 0).
func firstImages(s *Set, n int) (*Set, error) {
	switch {
	case n == 0 || n == s.N:
		return s, nil
	case n < 0 || n > s.N:
		return nil, fmt.Errorf("%s (%s): %d images, the scale asks for the first %d", s.Name, s.Source, s.N, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return s.Subset(fmt.Sprintf("%s[first %d]", s.Name, n), idx), nil
}

// HoldOut splits the last perClass images of every class (by index) off s: the rest, and the held-out images in
// class order.
func HoldOut(s *Set, perClass int) (rest, held *Set, err error) {
	byClass := make([][]int, len(s.Classes))
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	var keep, hold []int
	for c, members := range byClass {
		if len(members) <= perClass {
			return nil, nil, fmt.Errorf("%s: class %q has %d images, %d to hold out would leave none", s.Name,
				s.Classes[c], len(members), perClass)
		}
		hold = append(hold, members[len(members)-perClass:]...)
	}
	held = s.Subset(fmt.Sprintf("%s[held out: last %d per class]", s.Name, perClass), hold)
	isHeld := make([]bool, s.N)
	for _, i := range hold {
		isHeld[i] = true
	}
	for i := range s.N {
		if !isHeld[i] {
			keep = append(keep, i)
		}
	}
	return s.Subset(fmt.Sprintf("%s[without %d per class]", s.Name, perClass), keep), held, nil
}

// Describe summarises the prepared data in one line per split.
func (p *Prepared) Describe() string {
	var b strings.Builder
	for _, s := range []*Set{p.Train, p.Validation, p.Test} {
		fmt.Fprintf(&b, "%-60s %6d images %dx%d, per class %v\n", s.Name, s.N, s.W, s.H, s.ClassCounts())
	}
	fmt.Fprintf(&b, "normalisation: mean %.4f, std %.4f (from %s)\n", p.Stats.Mean, p.Stats.Std, filepath.Base(p.Stats.Source))
	return b.String()
}
