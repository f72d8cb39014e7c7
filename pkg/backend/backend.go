// Package backend chooses the GoMLX backend that runs the project's models, and makes the pure-Go one train them.
//
// The paper's experiments (Safarani et al. 2021, Sections 2–4) ran on GPUs with PyTorch. This project runs the same
// computations through GoMLX, on one of two backends:
//
//   - "cpu" (the default): GoMLX's pure-Go backend ("go", package simplego) wrapped by this package's compatibility
//     layer (cpu.go), which adds the ops that training needs, and its executor (executor.go), which plans each
//     recorded graph and runs it itself: fused element-wise passes, strided views instead of copies, convolutions as
//     im2col + one OpenBLAS matrix product (kernel_conv.go), parallel kernels, and a planned memory arena; the
//     pure-Go backend runs only what the executor does not cover. It needs no plugin; it links OpenBLAS (Debian's
//     libopenblas-dev) when built with cgo, and falls back to gonum's pure-Go BLAS when built without cgo or with
//     -tags noopenblas. "go" is the pure-Go backend unwrapped (it cannot differentiate a convolution). The tests
//     check the executor against the pure-Go backend running every operation but the convolutions (an internal
//     reference mode, not a choice of the command line).
//   - "xla:cuda" or "xla:/absolute/path/to/pjrt_plugin.so": GoMLX's XLA backend through a PJRT plugin, for GPUs.
//
// The choice comes from, in order: the explicit configuration string (the CLI's -backend flag), the GOMLX_BACKEND
// environment variable, and finally "cpu". Nothing is ever downloaded at run time: GoMLX's automatic installation of
// PJRT plugins is switched off when this package is initialised, so a missing plugin is an error that says what to do,
// not a silent download attempt.
package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"
	// The pure-Go backend is always compiled in.
	_ "github.com/gomlx/gomlx/backends/simplego"
)

// EnvVar is the environment variable read when no configuration is given explicitly (GoMLX's own convention).
const EnvVar = backends.ConfigEnvVar

// Default is the configuration used when neither an explicit configuration nor GOMLX_BACKEND is set.
const Default = "cpu"

// Options describes the accepted configuration strings, for help texts and error messages.
func Options() []string {
	opts := []string{
		"cpu  (default: GoMLX's pure-Go backend with the project's compatibility layer and " + blasName + " convolutions; no plugin needed)",
		"go   (GoMLX's pure-Go backend, unwrapped: cannot differentiate convolutions)",
	}
	if xlaCompiledIn {
		opts = append(opts,
			"xla:cuda   (XLA through a CUDA PJRT plugin found in PJRT_PLUGIN_LIBRARY_PATH or the standard locations)",
			"xla:/absolute/path/to/pjrt_c_api_plugin.so   (XLA through the given PJRT plugin file)",
		)
	} else {
		opts = append(opts, "xla:...   (not available: this binary was built with -tags noxla or without cgo)")
	}
	return opts
}

// Resolve returns the configuration that New would use for config: config itself if not empty, else the value of
// GOMLX_BACKEND if set and not empty, else Default.
func Resolve(config string) string {
	if config = strings.TrimSpace(config); config != "" {
		return config
	}
	if env := strings.TrimSpace(os.Getenv(EnvVar)); env != "" {
		return env
	}
	return Default
}

// New returns the GoMLX backend for config (see Resolve for how an empty config is filled in).
//
// It fails, listing the accepted options, when the backend is unknown, not compiled in, or cannot be started
// (for example an XLA plugin that does not exist).
func New(config string) (b backends.Backend, err error) {
	config = Resolve(config)
	name, arg, _ := strings.Cut(config, ":")
	name = strings.ToLower(name)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("backend %q: %s\naccepted values for -backend or $%s:\n  %s",
			config, fmt.Sprintf(format, args...), EnvVar, strings.Join(Options(), "\n  "))
	}
	// GoMLX panics on some configuration errors: turn them into errors.
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fail("%v", r)
		}
	}()

	switch name {
	case "cpu":
		if arg != "" {
			return nil, fail("the cpu backend takes no argument (got %q)", arg)
		}
		b, err := newCPU(execFused)
		if err != nil {
			return nil, fail("%v", err)
		}
		return b, nil
	case "go", "simplego":
		b, err = backends.NewWithConfig("go" + suffix(arg))
		if err != nil {
			return nil, fail("%v", err)
		}
		return b, nil
	case "xla", "stablehlo", "hlo", "shlo":
		if !xlaCompiledIn {
			return nil, fail("the XLA backend is not compiled into this binary (build with cgo and without -tags noxla)")
		}
		if arg == "" {
			return nil, fail("name a PJRT plugin: xla:cuda, or xla:/absolute/path/to/plugin.so")
		}
		if strings.ContainsRune(arg, os.PathSeparator) {
			plugin, _, _ := strings.Cut(arg, ",")
			if !filepath.IsAbs(plugin) {
				return nil, fail("the plugin path must be absolute (got %q)", plugin)
			}
			if _, statErr := os.Stat(plugin); statErr != nil {
				return nil, fail("the PJRT plugin file cannot be read: %v", statErr)
			}
		}
		b, err = newXLA(arg)
		if err != nil {
			return nil, fail("%v (nothing is downloaded at run time: install the plugin and give its absolute path)", err)
		}
		return b, nil
	default:
		return nil, fail("unknown backend %q (compiled in: %s)", name, strings.Join(Compiled(), ", "))
	}
}

// Compiled lists the GoMLX backends registered in this binary, sorted.
func Compiled() []string {
	list := slices.Clone(backends.List())
	sort.Strings(list)
	return list
}

func suffix(arg string) string {
	if arg == "" {
		return ""
	}
	return ":" + arg
}
