// Package jobs runs a graph of dependent jobs on a few workers and serialises processes that share a folder.
//
// These are the mechanics under the study's stages: pkg/study decides which stages run and what they depend on.
package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Job is one unit of work and the IDs of the jobs it needs. A dependency that is not among the jobs being run is
// taken as done.
type Job struct {
	ID   string
	Deps []string
}

// Run runs every job after the jobs it needs, at most workers at once, preferring jobs earlier in the list. run(i, k)
// runs jobs[i] as the k-th job started (1-based), in its own goroutine when workers > 1. The first error stops new
// jobs from starting; Run returns it once the running jobs have finished. Jobs waiting on
// a failed job never start.
func Run(jobs []Job, workers int, run func(i, k int) error) error {
	workers = max(workers, 1)
	pending := map[string]bool{}
	for _, j := range jobs {
		pending[j.ID] = true
	}
	ready := func(j Job) bool {
		for _, d := range j.Deps {
			if pending[d] {
				return false
			}
		}
		return true
	}
	type result struct {
		i   int
		err error
	}
	results := make(chan result)
	running := map[int]bool{}
	started := 0
	var firstErr error
	for {
		for firstErr == nil && len(running) < workers {
			next := -1
			for i, j := range jobs {
				if pending[j.ID] && !running[i] && ready(j) {
					next = i
					break
				}
			}
			if next < 0 {
				break
			}
			started++
			running[next] = true
			go func(i, k int) { results <- result{i, run(i, k)} }(next, started)
		}
		if len(running) == 0 {
			return firstErr // all done, or an error stopped new jobs and the running ones have finished
		}
		res := <-results
		delete(running, res.i)
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
			}
			continue
		}
		delete(pending, jobs[res.i].ID)
	}
}

// Select returns the indices of the jobs whose IDs start with one of the prefixes (all if none), together with every
// job they need, in the order of jobs; a prefix that matches nothing is an error naming the jobs' top-level names
// (the part of an ID before its first "/").
func Select(jobs []Job, prefixes []string) ([]int, error) {
	byID := map[string]Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	want := map[string]bool{}
	var mark func(id string)
	mark = func(id string) {
		if !want[id] {
			want[id] = true
			for _, d := range byID[id].Deps {
				mark(d)
			}
		}
	}
	for _, p := range prefixes {
		found := false
		for _, j := range jobs {
			if strings.HasPrefix(j.ID, p) {
				mark(j.ID)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no ID starts with %q; IDs begin with %s", p, topNames(jobs))
		}
	}
	var out []int
	for i, j := range jobs {
		if len(prefixes) == 0 || want[j.ID] {
			out = append(out, i)
		}
	}
	return out, nil
}

// topNames lists the distinct parts of the jobs' IDs before their first "/".
func topNames(jobs []Job) string {
	var names []string
	for _, j := range jobs {
		if top, _, _ := strings.Cut(j.ID, "/"); !slices.Contains(names, top) {
			names = append(names, top)
		}
	}
	return strings.Join(names, ", ")
}

// PrefixWriter prefixes every line written to W with Prefix, one whole line at a time under Mu (jobs running in
// parallel share a log). A nil W discards.
type PrefixWriter struct {
	W      io.Writer
	Prefix string
	Mu     *sync.Mutex
	buf    []byte
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	if p.W == nil {
		return len(b), nil
	}
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.Mu.Lock()
		_, err := fmt.Fprintf(p.W, "%s%s\n", p.Prefix, p.buf[:i])
		p.Mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

// Lock takes an exclusive lock on file that works across processes and machines sharing a file system, NFS
// included: the lock file is created atomically (O_EXCL) and holds who holds it (host, pid, the boot and the
// process's start, and $SLURM_JOB_ID when set); while held, its modification time is refreshed every Heartbeat. A
// lock whose holder is gone is taken over, with a message: on the same host when its process no longer exists, or
// the PID now names another process (a different boot or start time: a PID reused after a crash); anywhere when its
// file has not been refreshed for StaleAfter (a live holder refreshes it). A lock path that is a symbolic link or a
// folder is an error naming it. If another live process holds it, waiting is called with that holder's line (once)
// and Lock polls until the lock is free. unlock releases it; so does ReleaseAll (on SIGINT or SIGTERM).
func Lock(file string, waiting func(holder string)) (unlock func(), err error) {
	me := selfLine()
	told := false
	for {
		if err := checkLockPath(file); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, werr := fmt.Fprintln(f, me)
			if cerr := f.Close(); werr != nil || cerr != nil {
				os.Remove(file)
				return nil, fmt.Errorf("locking %s: %v %v", file, werr, cerr)
			}
			return hold(file), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("locking %s: %w", file, err)
		}
		holder, stale := inspect(file)
		if stale != "" {
			if waiting != nil {
				waiting(fmt.Sprintf("%s: %s; taking the lock over", holder, stale))
			}
			// Rename first, so that of two processes that both saw the stale lock only one removes it.
			aside := fmt.Sprintf("%s.stale-%d", file, os.Getpid())
			if os.Rename(file, aside) == nil {
				os.Remove(aside)
			}
			continue
		}
		if !told && waiting != nil {
			waiting(holder)
			told = true
		}
		time.Sleep(PollInterval)
	}
}

// checkLockPath: a lock is a plain file or nothing.
func checkLockPath(file string) error {
	st, err := os.Lstat(file)
	switch {
	case err != nil:
		return nil
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("lock %s is a symbolic link, not a lock file: remove it if no cotrain process runs", file)
	case st.IsDir():
		return fmt.Errorf("lock %s is a folder, not a lock file: remove it if no cotrain process runs", file)
	case !st.Mode().IsRegular():
		return fmt.Errorf("lock %s is not a regular file (%s): remove it if no cotrain process runs", file, st.Mode())
	}
	return nil
}

// selfLine is this process's holder line: "pid P on HOST boot B start S since T".
func selfLine() string {
	host, _ := os.Hostname()
	me := fmt.Sprintf("pid %d on %s boot %s start %s since %s", os.Getpid(), host, bootID(), processStart(os.Getpid()),
		time.Now().Format(time.RFC3339))
	if job := os.Getenv("SLURM_JOB_ID"); job != "" {
		me += " (slurm job " + job + ")"
	}
	return me
}

// bootID identifies this boot of the machine ("-" where the kernel does not say).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "-"
	}
	return strings.TrimSpace(string(b))
}

// processStart is when a process started, in clock ticks since boot (/proc/PID/stat, field 22), or "-".
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "-"
	}
	// The command (field 2) is in parentheses and may hold spaces: count fields after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "-"
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return "-"
	}
	return fields[19]
}

// held are the locks this process holds, released by ReleaseAll.
var held = struct {
	sync.Mutex
	unlock map[string]func()
}{unlock: map[string]func(){}}

// ReleaseAll releases every lock this process holds (a handler of SIGINT and SIGTERM calls it before exiting).
func ReleaseAll() {
	held.Lock()
	var all []func()
	for _, u := range held.unlock {
		all = append(all, u)
	}
	held.Unlock()
	for _, u := range all {
		u()
	}
}

// Timing of the locks: how often a holder refreshes its lock, after how long an unrefreshed lock is stale, and how
// often a waiting process looks again.
var (
	Heartbeat    = 10 * time.Second
	StaleAfter   = 90 * time.Second
	PollInterval = 2 * time.Second
)

// hold refreshes the lock file until unlock is called, which removes it.
func hold(file string) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				os.Chtimes(file, now, now)
			}
		}
	}()
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			close(done)
			os.Remove(file)
			held.Lock()
			delete(held.unlock, file)
			held.Unlock()
		})
	}
	held.Lock()
	held.unlock[file] = unlock
	held.Unlock()
	return unlock
}

// inspect reads a held lock: its holder's line, and why it is stale ("" if it is not).
func inspect(file string) (holder, stale string) {
	b, err := os.ReadFile(file)
	st, serr := os.Lstat(file)
	if err != nil || serr != nil {
		return "a holder that just released it", "" // gone meanwhile: try again
	}
	holder = strings.TrimSpace(string(b))
	if age := time.Since(st.ModTime()); age > StaleAfter {
		return holder, fmt.Sprintf("not refreshed for %s", age.Round(time.Second))
	}
	host, _ := os.Hostname()
	var pid int
	var h, boot, start string
	n, _ := fmt.Sscanf(holder, "pid %d on %s boot %s start %s", &pid, &h, &boot, &start)
	if n < 2 || h != host || pid <= 0 {
		return holder, "" // another machine's, or not ours to judge: its refreshes tell
	}
	switch {
	case syscall.Kill(pid, 0) == syscall.ESRCH:
		return holder, fmt.Sprintf("process %d no longer exists", pid)
	case n == 4 && boot != "-" && boot != bootID():
		return holder, "it was taken before this machine restarted"
	case n == 4 && start != "-" && start != processStart(pid):
		return holder, fmt.Sprintf("process %d is another process than the one that took it", pid)
	}
	return holder, ""
}
