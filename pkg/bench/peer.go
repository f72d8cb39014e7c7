package bench

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The PyTorch peer: the same cases run by PyTorch on the same machine (torch_peer.py, embedded in the binary), so
// that the cpu backend's speed is stated as a ratio to a reference measured side by side, not to a number from
// another day or machine. PyTorch is only ever a peer in benchmarks, never a dependency of the project.

//go:embed torch_peer.py
var torchPeerScript []byte

// ErrNoPeer says that PyTorch cannot be run here; the error names what is missing.
var ErrNoPeer = errors.New("no PyTorch peer")

// Peer finds a Python interpreter that imports torch: Debian's /usr/bin/python3 first (python3-torch installs there),
// then python3 on the PATH. It returns the interpreter and PyTorch's version.
func Peer() (python, version string, err error) {
	var tried []string
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import torch; print(torch.__version__)").Output()
		if err == nil {
			return path, strings.TrimSpace(string(out)), nil
		}
		tried = append(tried, path)
	}
	return "", "", fmt.Errorf("%w: none of %v imports torch (Debian: apt-get install python3-torch)", ErrNoPeer, tried)
}

// RunPeer runs one case in PyTorch with python (from Peer), in a process of its own.
func RunPeer(python string, c Case) (Result, error) {
	if c.Threads == 0 {
		c.Threads = runtime.NumCPU()
	}
	dir, err := os.MkdirTemp("", "cotrain-peer-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_peer.py")
	if err := os.WriteFile(script, torchPeerScript, 0o644); err != nil {
		return Result{}, err
	}
	spec, _ := json.Marshal(c)
	cmd := exec.Command(python, script, string(spec))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("PyTorch peer, %s: %v\n%s", c, err, stderr.String())
	}
	var r struct {
		ImagesPerSec float64 `json:"images_per_second"`
		SecondsStep  float64 `json:"seconds_per_step"`
		PeakRSSMiB   float64 `json:"peak_rss_mib"`
		Cores        float64 `json:"cores"`
		Torch        string  `json:"torch"`
		Threads      int     `json:"threads"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return Result{}, fmt.Errorf("PyTorch peer, %s: %v (%q)", c, err, out)
	}
	return Result{Case: c, Backend: fmt.Sprintf("PyTorch %s (%d threads)", r.Torch, r.Threads),
		SecondsStep: r.SecondsStep, ImagesPerSec: r.ImagesPerSec, PeakRSSMiB: r.PeakRSSMiB, Cores: r.Cores}, nil
}

// PeerCases are the cases of the CPU speed comparison: training at ÷16 and ÷8 (32×32) and ÷4 (64×64) at batch 128
// and at batch (the mini scale's trainers), inference for the same networks, and one reconstruction step (the
// gradient to conv3_1 for one image), which PyTorch runs with one thread. Each case runs at least steps steps and
// at least seconds seconds, so that short steps are timed over enough of them.
func PeerCases(steps int, seconds float64, batch int) []Case {
	c := func(kind string, div, size, batch, threads int) Case {
		return Case{Kind: kind, WidthDivisor: div, InputSize: size, Batch: batch, Steps: steps, MinSeconds: seconds,
			Threads: threads}
	}
	cases := []Case{c("train", 16, 32, 128, 0), c("train", 8, 32, 128, 0), c("train", 4, 64, 128, 0)}
	if batch != 128 {
		cases = append(cases, c("train", 16, 32, batch, 0), c("train", 8, 32, batch, 0))
	}
	return append(cases, c("infer", 16, 32, 128, 0), c("infer", 8, 32, 128, 0), c("infer", 4, 64, 128, 0),
		c("recon", 16, 32, 1, 1), c("recon", 8, 32, 1, 1), c("recon", 4, 64, 1, 1))
}
