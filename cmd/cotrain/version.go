package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/robustvision/cotrain/pkg/backend"
	"github.com/robustvision/cotrain/pkg/provenance"
)

func runVersion(args []string, stdout io.Writer) error {
	fs := newFlagSet("version", `Print the Go version, the versions of the modules this binary was built with, the commit,
and the GoMLX backend with its devices. The backend runs a tiny computation to prove it works. Nothing is downloaded.`, stdout)
	backendFlag := fs.String("backend", "", "GoMLX backend: cpu (default), go, xla:cuda or xla:/abs/path/plugin.so (default $GOMLX_BACKEND, else cpu)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	if err := parse(fs, args); err != nil {
		return err
	}
	v := struct {
		Go      string            `json:"go"`
		Commit  string            `json:"commit"`
		Modules map[string]string `json:"modules"`
		Backend backend.Info      `json:"backend"`
		Compile []string          `json:"compiled_backends"`
	}{Go: runtime.Version(), Modules: map[string]string{}, Compile: backend.Compiled()}
	v.Commit, _ = provenance.Commit()
	if info, ok := debug.ReadBuildInfo(); ok {
		v.Modules[info.Main.Path] = info.Main.Version
		for _, d := range info.Deps {
			switch d.Path {
			case "github.com/gomlx/gomlx", "github.com/gomlx/go-xla", "gonum.org/v1/gonum", "gonum.org/v1/plot",
				"github.com/janpfeifer/gonb", "github.com/sbinet/npyio":
				v.Modules[d.Path] = d.Version
			}
		}
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return err
	}
	defer b.Finalize()
	if err := backend.SelfTest(b); err != nil {
		return err
	}
	v.Backend = backend.Describe(*backendFlag, b)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	fmt.Fprintf(stdout, "cotrain (commit %s), %s\n", v.Commit, v.Go)
	for _, m := range []string{"github.com/gomlx/gomlx", "github.com/gomlx/go-xla", "gonum.org/v1/gonum", "gonum.org/v1/plot", "github.com/janpfeifer/gonb", "github.com/sbinet/npyio"} {
		if ver, ok := v.Modules[m]; ok {
			fmt.Fprintf(stdout, "  %-26s %s\n", m, ver)
		}
	}
	fmt.Fprintf(stdout, "compiled-in backends: %v\n", v.Compile)
	fmt.Fprintf(stdout, "backend: %q → %s (self-test passed)\n", v.Backend.Config, v.Backend)
	return nil
}
