// Package study holds the reproduction as data: the scales at which it runs and (as it grows) Table 1 of the paper
// — which model needs which data and which other model — and the cache that makes every stage resumable.
package study

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/robustvision/cotrain/pkg/data"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/v1sim"
)

// Scale is one size of the whole study (shared/DESIGN.md, "Scales").
type Scale struct {
	Name     string
	Purpose  string
	Model    models.VGGConfig
	Neurons  int // simulated (or recorded) V1 neurons
	Sessions int // recording sessions
	Data     data.Classification
	V1       v1sim.Protocol // the simulated recording (the virtual monkey)
	// Training budget: epochs of the classification trainings and of the single-task V1 predictor (the paper trains
	// to convergence with early stopping, at most 400 and 150 epochs; the small scales cap the budget).
	Epochs, PredictorEpochs int
	Description             string
}

// PhotoDir is where `cotrain data fetch` keeps the natural photographs (shared by all scales; not committed).
var PhotoDir = filepath.Join("data", "cache", "photos")

// CacheDir is the folder of a scale's artifacts: data/cache/<scale>.
func CacheDir(s Scale) string { return filepath.Join("data", "cache", s.Name) }

// The three scales. The mini scale is the embedded default whose artifacts are committed. It is calibrated by the
// CPU backend's benchmarks so that the complete study (45 trainings and their corruption evaluation) fits in about
// 6 hours on 2 cores: widths ÷16 (43 training img/s on 2 cores; ÷8 runs at 23), 200 training images per class,
// 5 epochs; README "Scales" has the arithmetic. On a GPU the same study takes minutes.
var (
	Smoke = Scale{
		Name: "smoke", Purpose: "tests and CI: the whole study in a few minutes on 2 cores",
		Model:   models.VGGConfig{WidthDivisor: 16, InputSize: 32, InChannels: 3, NumClasses: 10},
		Neurons: 32, Sessions: 2,
		Data:   data.Classification{Dataset: "fmnist", Size: 32, TrainPerClass: 40, ValPerClass: 10, TestPerClass: 20, Seed: 1},
		Epochs: 1, PredictorEpochs: 1,
		V1: v1sim.Protocol{Neurons: 32, Sessions: 2, TrainImages: 600, TrainPerSession: 400, TestImages: 20,
			RepeatsMin: 10, RepeatsMax: 12, ImageSize: 32, PPD: 14, WindowMs: [2]float64{40, 160}},
		Description: "VGG-19-BN topology, widths ÷16, 32×32 Fashion-MNIST, a few hundred images, simulated V1",
	}
	Mini = Scale{
		Name: "mini", Purpose: "the embedded default; its artifacts are committed",
		Model:   models.VGGConfig{WidthDivisor: 16, InputSize: 32, InChannels: 3, NumClasses: 10},
		Neurons: 458, Sessions: 32,
		Data:   data.Classification{Dataset: "fmnist", Size: 32, TrainPerClass: 200, ValPerClass: 50, TestPerClass: 20, Seed: 1},
		Epochs: 5, PredictorEpochs: 2,
		V1: v1sim.Protocol{Neurons: 458, Sessions: 32, TrainImages: 4000, TrainPerSession: 1500, TestImages: 75,
			RepeatsMin: 40, RepeatsMax: 50, ImageSize: 32, PPD: 14, WindowMs: [2]float64{40, 160}},
		Description: "VGG-19-BN topology, widths ÷16, 32×32 Fashion-MNIST subset (200/50/20 images per class), simulated V1",
	}
	Paper = Scale{
		Name: "paper", Purpose: "what the paper did (needs a GPU)",
		Model:   models.PaperVGG,
		Neurons: 458, Sessions: 32,
		Data:   data.Classification{Dataset: "fmnist", Size: 64},
		Epochs: 400, PredictorEpochs: 150,
		V1: v1sim.Protocol{Neurons: 458, Sessions: 32, TrainImages: 24000, TrainPerSession: 11600, TestImages: 75,
			RepeatsMin: 40, RepeatsMax: 50, ImageSize: 64, PPD: 14, WindowMs: [2]float64{40, 160}},
		Description: "full VGG-19-BN, 64×64 Tiny ImageNet and recorded V1 when available, else Fashion-MNIST + simulated V1",
	}
)

// Scales lists the scales by name.
var Scales = map[string]Scale{Smoke.Name: Smoke, Mini.Name: Mini, Paper.Name: Paper}

// LookupScale returns the scale called name, or an error listing the valid names.
func LookupScale(name string) (Scale, error) {
	if s, ok := Scales[name]; ok {
		return s, nil
	}
	var names []string
	for n := range Scales {
		names = append(names, n)
	}
	sort.Strings(names)
	return Scale{}, fmt.Errorf("unknown scale %q: want one of %s", name, strings.Join(names, ", "))
}
