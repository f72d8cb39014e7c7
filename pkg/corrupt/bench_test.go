package corrupt

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkCorruption reports the time per image for every corruption (all five severities in turn) at 32×32 and
// 64×64 RGB: go test -bench Corruption -run '^$' ./pkg/corrupt/
func BenchmarkCorruption(b *testing.B) {
	for _, size := range []int{32, 64} {
		img := testImage(1, size, size)
		for _, c := range All() {
			b.Run(fmt.Sprintf("%dpx/%s", size, c.Name), func(b *testing.B) {
				for i := range b.N {
					if _, err := c.Apply(img, i%5+1, uint64(i), PresetImageNetC); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/img")
			})
		}
	}
}

// BenchmarkCorruptedTestSet corrupts 64×64 images with all 15 corruptions × 5 severities on every core (as the
// robustness evaluation does) and projects the time for the paper-sized set: 10,000 images × 15 × 5 = 750,000.
func BenchmarkCorruptedTestSet(b *testing.B) {
	b.Run("rgb", func(b *testing.B) { benchmarkTestSet(b, testImage(2, 64, 64)) })
	// Grey images (the Fashion-MNIST stand-in) take the exact grey fast path where it applies.
	b.Run("gray", func(b *testing.B) { benchmarkTestSet(b, RGBToGray(testImage(2, 64, 64))) })
}

func benchmarkTestSet(b *testing.B, img Image) {
	all := All()
	var n atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			c := all[int(k)%len(all)]
			if _, err := c.Apply(img, int(k/int64(len(all)))%5+1, uint64(k), PresetImageNetC); err != nil {
				b.Error(err)
			}
		}
	})
	perSec := float64(n.Load()) / time.Since(start).Seconds()
	b.ReportMetric(perSec, "img/s")
	b.ReportMetric(750000/perSec/60, "min/750k")
}
