package backend

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The segmented executable hands out distinct buffers even when the graph outputs a parameter as it is, or one value
// twice; a donated input that the graph does not use is consumed without harm.
func TestRecorderOutputsParametersAndRepeats(t *testing.T) {
	b := cpu(t)
	bld := b.Builder("outputs")
	shape := shapes.Make(dtypes.Float64, 3)
	x, err := bld.Parameter("x", shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	unused, err := bld.Parameter("unused", shape, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = unused
	twice, err := bld.Add(x, x)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := bld.Compile([]backends.Op{x, twice, twice}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, err := b.BufferFromFlatData(0, []float64{1, 2, 3}, shape)
	if err != nil {
		t.Fatal(err)
	}
	spare, err := b.BufferFromFlatData(0, []float64{7, 7, 7}, shape)
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Execute([]backends.Buffer{in, spare}, []bool{false, true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{1, 2, 3}, {2, 4, 6}, {2, 4, 6}}
	for i, o := range outs {
		if o == in {
			t.Errorf("output %d is the (not donated) input buffer itself", i)
		}
		for j := range i {
			if outs[j] == o {
				t.Errorf("outputs %d and %d share a buffer", j, i)
			}
		}
		got := make([]float64, 3)
		if err := b.BufferToFlatData(o, got); err != nil {
			t.Fatal(err)
		}
		for k := range got {
			if got[k] != want[i][k] {
				t.Errorf("output %d: %v, want %v", i, got, want[i])
				break
			}
		}
	}
	for _, o := range append(outs, in) {
		if err := b.BufferFinalize(o); err != nil {
			t.Errorf("finalize: %v", err)
		}
	}
	// A second execution of the same executable works the same way.
	in2, _ := b.BufferFromFlatData(0, []float64{1, 1, 1}, shape)
	spare2, _ := b.BufferFromFlatData(0, []float64{0, 0, 0}, shape)
	if _, err := exec.Execute([]backends.Buffer{in2, spare2}, nil, 0); err != nil {
		t.Fatal(err)
	}
}
