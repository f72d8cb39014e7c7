package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/robustvision/cotrain/pkg/backend"
)

func TestZZProfile(t *testing.T) {
	if os.Getenv("KIND") == "" {
		t.Skip()
	}
	bk, _ := backend.New("")
	div, _ := strconv.Atoi(os.Getenv("DIV"))
	size, _ := strconv.Atoi(os.Getenv("SIZE"))
	batch, _ := strconv.Atoi(os.Getenv("BATCH"))
	steps, _ := strconv.Atoi(os.Getenv("STEPS"))
	r, err := Run(bk, Case{Kind: os.Getenv("KIND"), WidthDivisor: div, InputSize: size, Batch: batch, Steps: max(steps, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("img/s %.1f peak RSS %.0f MiB; heap in use %d MiB, sys %d MiB, num GC %d\n", r.ImagesPerSec, r.PeakRSSMiB,
		ms.HeapInuse>>20, ms.HeapSys>>20, ms.NumGC)
	backend.ProfileReport()
}
