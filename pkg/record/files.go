package record

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// File is one recorded file.
type File struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Files maps the paths of a folder's files (relative, slash-separated) to their records.
type Files map[string]File

// List lists every regular file under dir (recursively) except those skip matches (by relative path), with its
// size and SHA-256.
func List(dir string, skip func(rel string) bool) (Files, error) {
	files := Files{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) || !e.Type().IsRegular() {
			return nil
		}
		f, err := sum(path)
		if err != nil {
			return err
		}
		files[rel] = f
		return nil
	})
	return files, err
}

// Digest identifies the whole set of files: the SHA-256 of their sorted paths, sizes and sums.
func (fs Files) Digest() string {
	paths := make([]string, 0, len(fs))
	for p := range fs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s %d %s\n", p, fs[p].Size, fs[p].SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Verify checks that every recorded file is under dir with its recorded size and sum; the error names the first
// file that is not. Files for which absent returns true may be missing (a cache that keeps results, not checkpoints);
// where they are there, they are checked too.
func (fs Files) Verify(dir string, absent ...func(rel string) bool) error {
	paths := make([]string, 0, len(fs))
	for p := range fs {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		want := fs[p]
		path := filepath.Join(dir, filepath.FromSlash(p))
		st, err := os.Stat(path)
		if err != nil {
			if len(absent) > 0 && absent[0](p) && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("%s: missing", path)
		}
		if st.Size() != want.Size {
			return fmt.Errorf("%s: %d bytes, recorded %d (truncated or replaced)", path, st.Size(), want.Size)
		}
		got, err := sum(path)
		if err != nil {
			return err
		}
		if got.SHA256 != want.SHA256 {
			return fmt.Errorf("%s: content differs from what was recorded (damaged or replaced)", path)
		}
	}
	return nil
}

// sums memoises file sums by path, size and modification time: status checks run often (every notebook cell that
// looks up the cache) and the files rarely change.
var sums = struct {
	sync.Mutex
	m map[string]memo
}{m: map[string]memo{}}

type memo struct {
	size    int64
	modTime time.Time
	file    File
}

func sum(path string) (File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return File{}, err
	}
	abs, _ := filepath.Abs(path)
	sums.Lock()
	m, ok := sums.m[abs]
	sums.Unlock()
	if ok && m.size == st.Size() && m.modTime.Equal(st.ModTime()) {
		return m.file, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	file := File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	sums.Lock()
	sums.m[abs] = memo{size: st.Size(), modTime: st.ModTime(), file: file}
	sums.Unlock()
	return file, nil
}

// Transient reports the files of a stage's folder that are not its output: the record itself, checkpoints a
// training resumes from, damaged files set aside, logs and temporary files.
func Transient(rel string) bool {
	base := filepath.Base(rel)
	return base == "stage.json" || base == "last.ckpt" || base == "best.ckpt" || strings.HasSuffix(base, ".damaged") ||
		strings.HasSuffix(base, ".log") || strings.HasSuffix(base, ".lock") || strings.HasPrefix(base, ".tmp")
}
