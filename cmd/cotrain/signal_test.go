package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/robustvision/cotrain/pkg/jobs"
)

// lockHolder is the child process of TestSignalReleasesLocks: it takes a lock as a stage does, with cotrain's
// signal handler installed, says so, and waits to be stopped.
func init() {
	file := os.Getenv("COTRAIN_TEST_HOLD_LOCK")
	if file == "" {
		return
	}
	releaseLocksOnSignal()
	if _, err := jobs.Lock(file, nil); err != nil {
		os.Exit(3)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	os.Exit(4)
}

// SIGTERM and SIGINT release the stage locks of a cotrain process before it exits (143 and 130).
func TestSignalReleasesLocks(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		file := filepath.Join(t.TempDir(), "stage.lock")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "COTRAIN_TEST_HOLD_LOCK="+file)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "locked\n" {
			t.Fatalf("the child said %q", line)
		}
		if _, err := os.Stat(file); err != nil {
			t.Fatalf("no lock while held: %v", err)
		}
		cmd.Process.Signal(sig)
		err = cmd.Wait()
		var exit *exec.ExitError
		want := map[syscall.Signal]int{syscall.SIGTERM: 143, syscall.SIGINT: 130}[sig]
		if !errors.As(err, &exit) || exit.ExitCode() != want {
			t.Errorf("%s: exit %v, want %d", sig, err, want)
		}
		if _, err := os.Stat(file); err == nil {
			t.Errorf("%s left the lock file", sig)
		}
	}
}
