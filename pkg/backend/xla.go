//go:build ((linux && amd64) || darwin) && !noxla

package backend

import (
	"os"

	"github.com/gomlx/gomlx/backends/xla"
)

const xlaCompiledIn = true

// Never let GoMLX download a PJRT plugin at run time: the machines this project runs on have no network, and a
// download attempt would at best be slow and at worst fetch something nobody asked for.
func init() {
	_ = os.Setenv(xla.NoAutoInstallEnv, "1")
	xla.EnableAutoInstall(false)
}
