package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Every job starts after the jobs it needs; no more than workers run at once; outside dependencies count as done.
func TestRunOrderAndWorkers(t *testing.T) {
	graph := []Job{{ID: "a", Deps: []string{"outside"}}, {ID: "b"}, {ID: "c", Deps: []string{"a", "b"}}, {ID: "d"},
		{ID: "e", Deps: []string{"c"}}}
	for _, workers := range []int{1, 2, 3} {
		var mu sync.Mutex
		var finished []string
		var running, peak atomic.Int32
		err := Run(graph, workers, func(i, k int) error {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			mu.Lock()
			for _, d := range graph[i].Deps {
				if d != "outside" && !slices.Contains(finished, d) {
					t.Errorf("%d workers: %s started before %s finished", workers, graph[i].ID, d)
				}
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			finished = append(finished, graph[i].ID)
			mu.Unlock()
			return nil
		})
		if err != nil || len(finished) != len(graph) {
			t.Fatalf("%d workers: %v, finished %v", workers, err, finished)
		}
		if int(peak.Load()) > workers {
			t.Errorf("%d workers: %d ran at once", workers, peak.Load())
		}
	}
}

// The first error is returned; jobs that need the failed one never start, and no new job starts after it.
func TestRunStopsOnError(t *testing.T) {
	graph := []Job{{ID: "a"}, {ID: "b", Deps: []string{"a"}}, {ID: "c"}}
	boom := errors.New("boom")
	var ran []string
	err := Run(graph, 1, func(i, k int) error {
		ran = append(ran, graph[i].ID)
		if graph[i].ID == "a" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !slices.Equal(ran, []string{"a"}) {
		t.Errorf("error %v, ran %v", err, ran)
	}
}

// Lines from several writers arrive whole and prefixed.
func TestPrefixWriter(t *testing.T) {
	var out bytes.Buffer
	mu := &sync.Mutex{}
	a, b := &PrefixWriter{W: &out, Prefix: "a: ", Mu: mu}, &PrefixWriter{W: &out, Prefix: "b: ", Mu: mu}
	a.Write([]byte("one "))
	b.Write([]byte("two\nthree"))
	a.Write([]byte("half\n"))
	if got, want := out.String(), "b: two\na: one half\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A second holder of the lock waits (and is told who holds it) until the first releases it; a lock left by a process
// that no longer exists (same host) or not refreshed for too long (another host) is taken over, with a message.
func TestLock(t *testing.T) {
	PollInterval = 10 * time.Millisecond
	file := filepath.Join(t.TempDir(), ".lock")
	unlock, err := Lock(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	var waited, acquired atomic.Bool
	var holder atomic.Value
	done := make(chan struct{})
	go func() {
		unlock2, err := Lock(file, func(h string) { waited.Store(true); holder.Store(h) })
		if err != nil {
			t.Error(err)
		}
		acquired.Store(true)
		unlock2()
		close(done)
	}()
	time.Sleep(100 * time.Millisecond)
	if acquired.Load() {
		t.Fatal("the lock was taken twice")
	}
	unlock()
	<-done
	if !waited.Load() {
		t.Error("the second holder was not told it waits")
	}
	if h, _ := holder.Load().(string); !strings.Contains(h, fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("the waiting side was told the holder is %q", h)
	}
	if _, err := os.Stat(file); err == nil {
		t.Error("unlock left the lock file")
	}
	// A lock of a process that has exited, on this host.
	cmd := exec.Command("true")
	cmd.Run()
	host, _ := os.Hostname()
	os.WriteFile(file, []byte(fmt.Sprintf("pid %d on %s since then\n", cmd.Process.Pid, host)), 0o644)
	var msg string
	unlock, err = Lock(file, func(h string) { msg = h })
	if err != nil || !strings.Contains(msg, "no longer exists") {
		t.Errorf("a dead holder's lock: %v, message %q", err, msg)
	}
	unlock()
	// A lock of another host that has not been refreshed.
	os.WriteFile(file, []byte("pid 1 on elsewhere since then\n"), 0o644)
	old := time.Now().Add(-2 * StaleAfter)
	os.Chtimes(file, old, old)
	msg = ""
	unlock, err = Lock(file, func(h string) { msg = h })
	if err != nil || !strings.Contains(msg, "not refreshed") {
		t.Errorf("a stale lock of another host: %v, message %q", err, msg)
	}
	unlock()
}

// Select keeps the matching jobs and what they need, in the given order; an unknown prefix names what exists.
func TestSelect(t *testing.T) {
	graph := []Job{{ID: "a/1"}, {ID: "b/1", Deps: []string{"a/1"}}, {ID: "c/1"}, {ID: "c/2", Deps: []string{"b/1"}}}
	got, err := Select(graph, []string{"c/2"})
	if err != nil || !slices.Equal(got, []int{0, 1, 3}) {
		t.Errorf("Select(c/2) = %v, %v", got, err)
	}
	if got, _ := Select(graph, nil); len(got) != 4 {
		t.Errorf("Select() = %v, want all", got)
	}
	if _, err := Select(graph, []string{"d"}); err == nil || !strings.Contains(err.Error(), "a, b, c") {
		t.Errorf("Select(d): %v", err)
	}
}

// Locks that cannot hang: one naming a live but unrelated process (PID 1, or a PID reused after a crash: another
// start time) is taken over, at once where its start time says so, else once it has gone unrefreshed; a lock path
// that is a dangling symbolic link or a folder is an error naming it.
func TestLockCannotHang(t *testing.T) {
	PollInterval = 10 * time.Millisecond
	dir := t.TempDir()
	file := filepath.Join(dir, "x.lock")
	host, _ := os.Hostname()
	// PID 1 exists, but started at another time than the lock says: a reused PID.
	os.WriteFile(file, []byte(fmt.Sprintf("pid 1 on %s boot %s start 99999999999 since then\n", host, bootID())), 0o644)
	var msg string
	unlock, err := Lock(file, func(h string) { msg = h })
	if err != nil || !strings.Contains(msg, "another process") {
		t.Errorf("a reused PID's lock: %v, message %q", err, msg)
	} else {
		unlock()
	}
	// Taken before a restart of the machine.
	os.WriteFile(file, []byte(fmt.Sprintf("pid 1 on %s boot another-boot start 1 since then\n", host)), 0o644)
	msg = ""
	if unlock, err = Lock(file, func(h string) { msg = h }); err != nil || !strings.Contains(msg, "restarted") {
		t.Errorf("a lock from before a restart: %v, message %q", err, msg)
	} else {
		unlock()
	}
	// PID 1 without a start time (a lock written by hand or by an older version), not refreshed: taken over.
	os.WriteFile(file, []byte(fmt.Sprintf("pid 1 on %s since then\n", host)), 0o644)
	old := time.Now().Add(-2 * StaleAfter)
	os.Chtimes(file, old, old)
	msg = ""
	if unlock, err = Lock(file, func(h string) { msg = h }); err != nil || !strings.Contains(msg, "not refreshed") {
		t.Errorf("PID 1's unrefreshed lock: %v, message %q", err, msg)
	} else {
		unlock()
	}
	// A dangling symbolic link and a folder.
	os.Symlink(filepath.Join(dir, "nowhere"), file)
	if _, err := Lock(file, nil); err == nil || !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), file) {
		t.Errorf("a dangling symlink as lock: %v", err)
	}
	os.Remove(file)
	os.Mkdir(file, 0o755)
	if _, err := Lock(file, nil); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("a folder as lock: %v", err)
	}
	// This process's own line names a live process with its start: not stale.
	other := filepath.Join(dir, "y.lock")
	os.WriteFile(other, []byte(selfLine()+"\n"), 0o644)
	if _, stale := inspect(other); stale != "" {
		t.Errorf("a live holder's lock is stale: %s", stale)
	}
}

// ReleaseAll releases every lock the process holds (as the signal handler does).
func TestReleaseAll(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.lock", "b.lock"} {
		if _, err := Lock(filepath.Join(dir, n), nil); err != nil {
			t.Fatal(err)
		}
	}
	ReleaseAll()
	for _, n := range []string{"a.lock", "b.lock"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			t.Errorf("%s left after ReleaseAll", n)
		}
	}
}
