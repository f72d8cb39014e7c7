// Package provenance records how an artifact was made (command, commit, backend, seed, time) and writes files
// atomically.
//
// An artifact is a figure, a checkpoint or a result table; every artifact of the study carries a record of the
// command, the commit, the backend and device, the seed, the wall time and the date.
package provenance

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Record is the provenance of one artifact.
type Record struct {
	Command   string    `json:"command"`
	Commit    string    `json:"commit"`
	Dirty     bool      `json:"dirty,omitempty"`
	Backend   string    `json:"backend,omitempty"`
	Device    string    `json:"device,omitempty"`
	Seed      *int64    `json:"seed,omitempty"`
	WallTime  float64   `json:"wall_time_s"`
	Date      time.Time `json:"date"`
	GoVersion string    `json:"go_version"`
	Host      string    `json:"host"`
	Job       string    `json:"job,omitempty"` // the cluster job that made it ("slurm job 1234", "kubernetes pod …")
}

// New starts a record for the running command; call Finish when the artifact is complete.
func New() *Record {
	commit, dirty := Commit()
	host, _ := os.Hostname()
	return &Record{
		Command:   strings.Join(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...), " "),
		Commit:    commit,
		Dirty:     dirty,
		Date:      time.Now().UTC(),
		GoVersion: runtime.Version(),
		Host:      fmt.Sprintf("%s (%s/%s, %d CPUs)", host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Job:       clusterJob(),
	}
}

// clusterJob names the scheduler's job the process runs in, if any.
func clusterJob() string {
	if id := os.Getenv("SLURM_JOB_ID"); id != "" {
		return "slurm job " + id
	}
	if idx := os.Getenv("JOB_COMPLETION_INDEX"); idx != "" {
		host, _ := os.Hostname()
		return fmt.Sprintf("kubernetes pod %s (index %s)", host, idx)
	}
	return ""
}

// Finish sets the wall time since the record was started.
func (r *Record) Finish() *Record {
	r.WallTime = time.Since(r.Date).Seconds()
	return r
}

// Commit returns the git commit of the working tree (from the build information when available, else from git) and
// whether the tree had uncommitted changes; "unknown" when neither is available.
func Commit() (string, bool) {
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev string
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			return rev, dirty
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown", false
	}
	status, _ := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
	return strings.TrimSpace(string(out)), len(strings.TrimSpace(string(status))) > 0
}

// WriteJSON writes v as indented JSON to path through a temporary file and a rename, so that readers never see a
// half-written file.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(data, '\n'))
}

// ReadJSON reads a file written by WriteJSON into v; the error names the file (and, for a missing file, wraps
// fs.ErrNotExist).
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// WriteCSV writes a header and rows as CSV to path, atomically (WriteFileAtomic).
func WriteCSV(path string, header []string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return WriteFileAtomic(path, b.Bytes())
}

// ReadCSV reads a file written by WriteCSV with this header and returns its rows after the header, each with as many
// fields as the header; the error names the file (and, for a missing file, wraps fs.ErrNotExist).
func ReadCSV(path string, header []string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll() // every row as long as the first, else an error
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(header, ",") {
		return nil, fmt.Errorf("%s: want the header %s", path, strings.Join(header, ","))
	}
	return rows[1:], nil
}

// WriteFileAtomic writes data to path through a temporary file in the same folder and a rename.
func WriteFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
