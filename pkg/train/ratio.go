package train

import (
	"fmt"
	"strconv"
	"strings"
)

// Ratio is the number of neural batches per classification batch, written neural:classification as the paper
// does (1:15 … 5:1). One side is always 1.
type Ratio struct{ Neural, Classification int }

// Sweep is the paper's batch-ratio sweep (paper, Section 3, Fig. 3C).
var Sweep = []Ratio{{1, 15}, {1, 10}, {1, 7}, {1, 5}, {1, 4}, {1, 3}, {1, 2}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}

// ParseRatio reads "a:b" with a or b equal to 1.
func ParseRatio(s string) (Ratio, error) {
	a, b, ok := strings.Cut(s, ":")
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	c, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || c < 1 || (n != 1 && c != 1) {
		return Ratio{}, fmt.Errorf("ratio %q: want neural:classification with one side 1, e.g. 1:15, 1:1 or 5:1", s)
	}
	return Ratio{n, c}, nil
}

func (r Ratio) String() string { return fmt.Sprintf("%d:%d", r.Neural, r.Classification) }

// NeuralBatchesBefore is the number of neural batches run (their gradients accumulated) before classification batch
// i (0-based) of an epoch, whose optimizer step then applies them all (the authors' MTL_Cycler). For n:1, n before
// every classification batch; for 1:k, one before batch i when (i+1) is a multiple of k — with an integer period,
// where the authors' float modulo (i+1) % (1/(1/k)) can miss.
func (r Ratio) NeuralBatchesBefore(i int) int {
	if r.Classification == 1 {
		return r.Neural
	}
	if (i+1)%r.Classification == 0 {
		return 1
	}
	return 0
}
