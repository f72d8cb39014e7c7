//go:build ((linux && amd64) || darwin) && !noxla

package backend

import (
	"os"

	"github.com/gomlx/go-xla/pkg/pjrt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

const xlaCompiledIn = true

// Never let GoMLX download a PJRT plugin at run time: the machines this project runs on have no network, and a
// download attempt would at best be slow and at worst fetch something nobody asked for.
func init() {
	_ = os.Setenv(xla.NoAutoInstallEnv, "1")
	xla.EnableAutoInstall(false)
}

// newXLA opens the XLA backend on a PJRT plugin without letting it take most of the device's memory up front (XLA's
// default on GPUs), so that several stages can share one GPU (cotrain reproduce -jobs); a plugin that refuses the
// option is opened with its defaults.
func newXLA(config string) (backends.Backend, error) {
	b, err := xla.NewWithOptions(config, pjrt.NamedValuesMap{"preallocate": false})
	if err != nil {
		return xla.New(config)
	}
	return b, nil
}
