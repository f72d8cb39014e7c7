package models_test

import (
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/internal/golden"
	"github.com/robustvision/cotrain/pkg/models"
	"github.com/robustvision/cotrain/pkg/train"
)

// TestGolden pins the network — its initialisation from a seed and its forward pass, classification and readout —
// to Version (within a relative 1e-4: the last bits of a BLAS kernel's sums depend on the machine).
func TestGolden(t *testing.T) {
	b, err := backend.New("cpu")
	if err != nil {
		t.Fatal(err)
	}
	cfg := models.VGGConfig{WidthDivisor: 32, InputSize: 32, InChannels: 3, NumClasses: 10}
	m, err := train.NewModel(b, train.ModelInfo{Model: cfg, Neurons: 4}, 7)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]uint8, 2*32*32)
	for i := range img {
		img[i] = uint8((i*7 + i/32*3) % 256)
	}
	logits, err := m.Logits(img, 2)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.Responses(img, 2)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for i, v := range logits[:10] {
		values["logit"+string(rune('0'+i))] = float64(v)
	}
	for i, v := range resp[:4] {
		values["response"+string(rune('0'+i))] = float64(v)
	}
	golden.Check(t, models.Version, values, 1e-4)
}
