package v1sim

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/robustvision/cotrain/pkg/internal/golden"
)

// TestGolden pins the simulated population and its recording (a small protocol on fixed images) to Version.
func TestGolden(t *testing.T) {
	proto := Protocol{Neurons: 12, Sessions: 2, TrainImages: 40, TrainPerSession: 30, TestImages: 5, RepeatsMin: 4,
		RepeatsMax: 6, ImageSize: 32, PPD: 14, WindowMs: [2]float64{40, 160}}
	n := proto.TrainImages + proto.TestImages
	images := make([]uint8, n*32*32)
	for i := range images {
		images[i] = uint8((i*31 + i/1024*17) % 256)
	}
	d, neurons, err := SimulateOn(images, n, proto, DefaultPopulation, 3)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	var buf []byte
	for _, s := range d.Sessions {
		for _, v := range s.TrainResponses {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		for _, v := range s.TestResponses {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	values["responses"] = golden.Hash(buf)
	for i, nr := range neurons[:3] {
		values["neuron"+string(rune('0'+i))+"/sf"] = nr.SF
	}
	golden.Check(t, Version, values, 0)
}
