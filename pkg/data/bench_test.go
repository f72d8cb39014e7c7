package data

import (
	"testing"
	"time"
)

// BenchmarkAugmentedLoader measures augmented, normalised images per second at the mini scale (32×32, batch 128,
// every core), to compare with the training step's consumption: go test -bench Loader -run '^$' ./pkg/data/
func BenchmarkAugmentedLoader(b *testing.B) {
	train, _, err := LoadFashionMNIST("")
	if err != nil {
		b.Skip(err)
	}
	set := Fit(Stratified(train, 1000, 1), 32)
	l := Loader{Set: set, BatchSize: 128, Stats: ComputeStats(set), Augment: true, Shuffle: true, Seed: 1}
	b.ResetTimer()
	start := time.Now()
	images := 0
	for epoch := 0; images < b.N*128; epoch++ {
		ch, err := l.Epoch(epoch, nil)
		if err != nil {
			b.Fatal(err)
		}
		for batch := range ch {
			images += batch.B
		}
	}
	b.ReportMetric(float64(images)/time.Since(start).Seconds(), "img/s")
}
