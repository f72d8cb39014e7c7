// Command cotrain reproduces "Towards robust vision by multi-task learning on monkey visual cortex"
// (Safarani et al., NeurIPS 2021): it regenerates the paper's figures from the cache and executes the notebooks.
// Every subcommand is a thin wrapper over a function in pkg/, which the notebooks call too.
//
// Usage:
//
//	cotrain <command> [flags]
//
// Run `cotrain -h` for the list of commands and `cotrain <command> -h` for each command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/robustvision/cotrain/pkg/jobs"
	"github.com/robustvision/cotrain/pkg/scales"
)

// command is one subcommand of cotrain.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"version", "print module versions, the backend and its devices (no network, no plugin needed)", runVersion},
		{"data", "check, fetch and prepare the data (Fashion-MNIST, Tiny ImageNet, natural photographs)", runData},
		{"v1sim", "simulate the virtual monkey (SIMULATED V1 population, the paper's recording protocol)", runV1sim},
		{"neural", "statistics of a neural dataset: FEV, true explainable variance, counts, Fano factors", runNeural},
		{"corrupt", "apply ImageNet-C corruptions to PNG images (pure Go, deterministic)", runCorrupt},
		{"summary", "print a model's layer table and parameter count at a scale", runSummary},
		{"train", "train one model of the study (resumable; progress bar, per-epoch metrics)", runTrain},
		{"reproduce", "run the study's stages that are missing or out of date (dependency order, resumable)", runReproduce},
		{"status", "show which stages of a scale's study are cached, stale, partial or missing", runStatus},
		{"plan", "list a scale's stages with their waves, resources and estimated times", runPlan},
		{"submit", "submit the stages to Slurm (sbatch, chained by dependencies) or write Kubernetes Indexed Jobs", runSubmit},
		{"bench", "benchmark training, inference and reconstruction steps on a backend", runBench},
		{"calibrate", "choose a scale's recipe by measurement: train a model under variants, print its curves", runCalibrate},
		{"figures", "regenerate the figures from the cache into figures/", runFigures},
		{"notebooks", "execute every notebook headlessly and write HTML copies", runNotebooks},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `cotrain reproduces Safarani et al. (NeurIPS 2021), "Towards robust vision by multi-task learning on
monkey visual cortex", in Go. Simulated V1 data and Fashion-MNIST stand in for the monkey recordings and Tiny ImageNet
unless you supply the real data.

Usage:
  cotrain <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run "cotrain <command> -h" for the flags of a command.
Backends: -backend cpu (default, pure Go), xla:cuda or xla:/abs/path/plugin.so (GPU); $GOMLX_BACKEND works too.
`)
}

func main() {
	releaseLocksOnSignal()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// releaseLocksOnSignal makes SIGINT and SIGTERM release every stage lock this process holds before it exits: an
// interrupted training resumes from its last epoch's checkpoint (the stage shows as partial), and no other process
// waits on a lock nobody holds.
func releaseLocksOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		jobs.ReleaseAll()
		fmt.Fprintf(os.Stderr, "\ncotrain: %s: stage locks released; run the command again to resume\n", sig)
		code := 130
		if sig == syscall.SIGTERM {
			code = 143
		}
		os.Exit(code)
	}()
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			if err != nil {
				fmt.Fprintf(stderr, "cotrain %s: %v\n", c.name, err)
				if errors.As(err, new(usageError)) {
					return 2
				}
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "cotrain: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// usageError marks errors caused by bad flags or arguments (exit status 2).
type usageError struct{ error }

// newFlagSet returns a flag set whose -h prints the command's description and flags.
func newFlagSet(name, description string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cotrain "+name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: cotrain %s [flags]\n\n%s\n\nFlags:\n", name, strings.TrimSpace(description))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	return nil
}

// inRepository resolves the repository root (scales.FindRoot: independent of the working directory) and makes the
// named flags that the user left at their defaults — paths relative to the repository, such as the photo manifest
// or the cache — absolute under it. Paths the user gives stay relative to the working directory.
func inRepository(fs *flag.FlagSet, names ...string) (string, error) {
	root, err := scales.FindRoot("")
	if err != nil {
		return "", err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range names {
		if f := fs.Lookup(name); f != nil && !set[name] && f.Value.String() != "" && !filepath.IsAbs(f.Value.String()) {
			if err := f.Value.Set(filepath.Join(root, f.Value.String())); err != nil {
				return "", err
			}
		}
	}
	return root, nil
}
