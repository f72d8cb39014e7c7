package backend

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Info describes a running backend: what `cotrain version` prints and what artifacts record as provenance.
type Info struct {
	Config      string   `json:"config"`      // the configuration string that selected it
	Name        string   `json:"name"`        // GoMLX's short name ("go", "xla")
	Description string   `json:"description"` // GoMLX's longer description
	Devices     []string `json:"devices"`     // one description per addressable device
}

// Describe returns the Info of b, selected by config.
func Describe(config string, b backends.Backend) Info {
	info := Info{Config: Resolve(config), Name: b.Name(), Description: b.Description()}
	for i := range b.NumDevices() {
		info.Devices = append(info.Devices, b.DeviceDescription(backends.DeviceNum(i)))
	}
	return info
}

// String formats the Info on one line.
func (i Info) String() string {
	return fmt.Sprintf("%s (%s) on %s", i.Name, i.Description, strings.Join(i.Devices, "; "))
}

// SelfTest compiles and runs a tiny computation (the sum of squares of 1…4 in float32) on b and checks the answer,
// so that a backend that loads but cannot execute is caught before any real work starts.
func SelfTest(b backends.Backend) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend %s failed its self-test: %v", b.Name(), r)
		}
	}()
	out, err := graph.ExecOnce(b, func(x *graph.Node) *graph.Node {
		return graph.ReduceAllSum(graph.Square(x))
	}, []float32{1, 2, 3, 4})
	if err != nil {
		return fmt.Errorf("backend %s failed its self-test: %w", b.Name(), err)
	}
	got := tensors.ToScalar[float32](out)
	if got != 30 {
		return fmt.Errorf("backend %s failed its self-test: sum of squares of 1…4 = %v, want 30", b.Name(), got)
	}
	return nil
}
