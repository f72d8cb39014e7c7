//go:build !(((linux && amd64) || darwin) && !noxla)

package backend

import (
	"errors"

	"github.com/gomlx/gomlx/backends"
)

const xlaCompiledIn = false

func newXLA(string) (backends.Backend, error) {
	return nil, errors.New("the XLA backend is not compiled into this binary")
}
