package data

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/robustvision/cotrain/pkg/imgproc"
	"github.com/robustvision/cotrain/pkg/provenance"
)

// Photo is one natural photograph of the manifest: where it comes from, under which licence, and its checksum.
type Photo struct {
	ID        string // unique, file-name safe: "<activity>-<subfolder>-<name>"
	Category  string // scene, animal, object or building
	Package   string // Debian package, e.g. gcompris-qt-data
	Version   string // its version
	Archive   string // the file in the package that holds it (a Qt resource archive)
	Path      string // the path inside the archive
	License   string // as in the package's debian/copyright
	Copyright string // the author named there
	SHA256    string // of the image file's bytes
}

// File is the photo's file name in the cache.
func (p Photo) File() string { return p.ID + path.Ext(p.Path) }

var manifestHeader = []string{"id", "category", "package", "version", "archive", "path", "license", "copyright", "sha256"}

// LoadManifest reads a photo manifest (tab-separated, with a header line; see data/photos.tsv).
func LoadManifest(file string) ([]Photo, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("photo manifest: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var photos []Photo
	seen := map[string]bool{}
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			if text != strings.Join(manifestHeader, "\t") {
				return nil, fmt.Errorf("%s:1: header %q, want %q", file, text, strings.Join(manifestHeader, "\t"))
			}
			continue
		}
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != len(manifestHeader) {
			return nil, fmt.Errorf("%s:%d: %d fields, want %d", file, line, len(f), len(manifestHeader))
		}
		p := Photo{ID: f[0], Category: f[1], Package: f[2], Version: f[3], Archive: f[4], Path: f[5], License: f[6],
			Copyright: f[7], SHA256: f[8]}
		if seen[p.ID] {
			return nil, fmt.Errorf("%s:%d: duplicate id %q", file, line, p.ID)
		}
		if len(p.SHA256) != 64 {
			return nil, fmt.Errorf("%s:%d: sha256 %q is not 64 hex digits", file, line, p.SHA256)
		}
		seen[p.ID] = true
		photos = append(photos, p)
	}
	return photos, nil
}

// WriteManifest writes photos in the manifest format (atomically).
func WriteManifest(file string, photos []Photo) error {
	var b strings.Builder
	b.WriteString(strings.Join(manifestHeader, "\t") + "\n")
	for _, p := range photos {
		b.WriteString(strings.Join([]string{p.ID, p.Category, p.Package, p.Version, p.Archive, p.Path, p.License,
			p.Copyright, p.SHA256}, "\t") + "\n")
	}
	return writeAtomic(file, []byte(b.String()))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// FetchPhotos makes sure every photo of the manifest is in dir with the right checksum. Missing photos are taken from
// the Debian package: `apt-get download <package>=<version>` (no root needed) and `dpkg-deb -x` into a temporary
// folder (or, with debDir, from .deb files already there), then read out of the package's Qt resource archives.
// Files are written under a temporary name and renamed; a checksum mismatch is an error and writes nothing.
func FetchPhotos(photos []Photo, dir, debDir string, log io.Writer) error {
	var missing []Photo
	for _, p := range photos {
		if b, err := os.ReadFile(filepath.Join(dir, p.File())); err == nil && sha256Hex(b) == p.SHA256 {
			continue
		}
		missing = append(missing, p)
	}
	if len(missing) == 0 {
		fmt.Fprintf(log, "photos: all %d present and verified in %s\n", len(photos), dir)
		return nil
	}
	byPackage := map[string][]Photo{}
	for _, p := range missing {
		key := p.Package + "=" + p.Version
		byPackage[key] = append(byPackage[key], p)
	}
	work, err := os.MkdirTemp("", "cotrain-photos-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	for key, list := range byPackage {
		pkg, version, _ := strings.Cut(key, "=")
		deb, err := findDeb(debDir, pkg, version)
		if err != nil || deb == "" {
			fmt.Fprintf(log, "photos: apt-get download %s\n", key)
			cmd := exec.Command("apt-get", "download", key)
			cmd.Dir = work
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("apt-get download %s failed (%v): %s\nrun `apt-get update` first, or pass -deb-dir with %s_%s_all.deb",
					key, err, strings.TrimSpace(string(out)), pkg, version)
			}
			if deb, err = findDeb(work, pkg, version); err != nil || deb == "" {
				return fmt.Errorf("apt-get download %s produced no .deb file", key)
			}
		}
		root := filepath.Join(work, pkg)
		if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %v: %s", deb, err, out)
		}
		archives := map[string][]RCCFile{}
		for _, p := range list {
			files, ok := archives[p.Archive]
			if !ok {
				if files, err = ReadRCC(filepath.Join(root, p.Archive)); err != nil {
					return err
				}
				archives[p.Archive] = files
			}
			var content []byte
			for _, f := range files {
				if f.Path == p.Path {
					if content, err = f.Bytes(); err != nil {
						return err
					}
					break
				}
			}
			if content == nil {
				return fmt.Errorf("photo %s: %s has no file %s", p.ID, p.Archive, p.Path)
			}
			if got := sha256Hex(content); got != p.SHA256 {
				return fmt.Errorf("photo %s: checksum %s, manifest says %s (package %s changed?)", p.ID, got, p.SHA256, key)
			}
			if err := writeAtomic(filepath.Join(dir, p.File()), content); err != nil {
				return err
			}
		}
		fmt.Fprintf(log, "photos: %d extracted from %s and verified\n", len(list), key)
	}
	return nil
}

func findDeb(dir, pkg, version string) (string, error) {
	if dir == "" {
		return "", nil
	}
	v := strings.ReplaceAll(version, ":", "%3a")
	matches, err := filepath.Glob(filepath.Join(dir, pkg+"_"+v+"_*.deb"))
	if err != nil || len(matches) == 0 {
		return "", err
	}
	return matches[0], nil
}

// PhotoImage is a decoded photograph.
type PhotoImage struct {
	ID     string
	Source string // manifest entry or file path
	Gray   []uint8
	H, W   int
}

// ManifestPhotos returns the photographs of a manifest file, fetched from their Debian packages into dir first if they
// are not there yet (progress to log).
func ManifestPhotos(manifest, dir string, log io.Writer) ([]PhotoImage, error) {
	photos, err := LoadManifest(manifest)
	if err != nil {
		return nil, err
	}
	if err := FetchPhotos(photos, dir, "", log); err != nil {
		return nil, err
	}
	return LoadPhotos(photos, dir)
}

// LoadPhotos decodes the photos of the manifest from dir as grayscale, several at a time.
func LoadPhotos(photos []Photo, dir string) ([]PhotoImage, error) {
	out := make([]PhotoImage, len(photos))
	errs := make([]error, len(photos))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				p := photos[i]
				img, err := imgproc.DecodeFile(filepath.Join(dir, p.File()))
				if err != nil {
					errs[i] = fmt.Errorf("photo %s: %w (run `cotrain data fetch`)", p.ID, err)
					continue
				}
				out[i] = toGrayPhoto(p.ID, fmt.Sprintf("%s %s: %s (%s, %s)", p.Package, p.Version, p.Path, p.License, p.Copyright), img)
			}
		})
	}
	for i := range photos {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadPhotoDir decodes every JPEG, PNG or WebP file of a folder (a user's own photographs), sorted by name.
func LoadPhotoDir(dir string) ([]PhotoImage, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("-photos: %w", err)
	}
	var names []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg", ".png", ".webp":
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("-photos %s: no JPEG, PNG or WebP files", dir)
	}
	var out []PhotoImage
	for _, n := range names {
		img, err := imgproc.DecodeFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, toGrayPhoto(strings.TrimSuffix(n, filepath.Ext(n)), filepath.Join(dir, n), img))
	}
	return out, nil
}

// toGrayPhoto converts a photograph to grey: for JPEG and WebP (decoded as Y'CbCr) the luma plane Y' itself, which is
// the ITU-R 601 luma that PIL's "L" conversion computes from RGB; for other images PIL's "L" weights on RGB.
func toGrayPhoto(id, source string, img image.Image) PhotoImage {
	b := img.Bounds()
	g := make([]uint8, b.Dx()*b.Dy())
	if y, ok := img.(*image.YCbCr); ok {
		for row := range b.Dy() {
			off := y.YOffset(b.Min.X, b.Min.Y+row)
			copy(g[row*b.Dx():(row+1)*b.Dx()], y.Y[off:off+b.Dx()])
		}
		return PhotoImage{ID: id, Source: source, Gray: g, H: b.Dy(), W: b.Dx()}
	}
	rgb := rgbPixels(img)
	for i := range g {
		r, gg, bl := uint32(rgb[3*i]), uint32(rgb[3*i+1]), uint32(rgb[3*i+2])
		g[i] = uint8((r*19595 + gg*38470 + bl*7471 + 0x8000) >> 16)
	}
	return PhotoImage{ID: id, Source: source, Gray: g, H: b.Dy(), W: b.Dx()}
}

// PatchSampler cuts square grayscale patches out of photographs at a given visual resolution.
//
// A photograph has no intrinsic visual angle, so it is assigned one: its shorter side spans PhotoDegrees of visual
// angle (the paper showed 6.7° images). A patch of Size pixels at TargetPPD pixels per degree covers Size/TargetPPD
// degrees; the sampler cuts the corresponding region at a random position and resamples it (area averaging) to
// Size×Size. The paper's model input is 64 px at 14 ppd (4.5°).
type PatchSampler struct {
	PhotoDegrees float64 // visual angle of a photo's shorter side
	TargetPPD    float64 // pixels per degree of the patch
	Size         int     // patch size in pixels
}

// PaperPatches is the paper's stimulus geometry: 6.7° images, cut to 64 px at 14 ppd.
var PaperPatches = PatchSampler{PhotoDegrees: 6.7, TargetPPD: 14, Size: 64}

// Sample cuts one patch from photo p at a position drawn from rng. It fails when the photo is too small for the
// requested visual angle.
func (s PatchSampler) Sample(p PhotoImage, rng *rand.Rand) ([]uint8, error) {
	srcPPD := float64(min(p.H, p.W)) / s.PhotoDegrees
	side := float64(s.Size) / s.TargetPPD * srcPPD // source pixels covered by the patch
	if side > float64(min(p.H, p.W)) {
		return nil, fmt.Errorf("photo %s (%d×%d) spans %.1f°, too small for a %.1f° patch", p.ID, p.W, p.H,
			s.PhotoDegrees, float64(s.Size)/s.TargetPPD)
	}
	y0 := rng.Float64() * (float64(p.H) - side)
	x0 := rng.Float64() * (float64(p.W) - side)
	return resampleArea(p.Gray, p.H, p.W, y0, x0, side, s.Size), nil
}

// Centre cuts the patch at the centre of photo p (the whole shorter side when the patch spans it).
func (s PatchSampler) Centre(p PhotoImage) ([]uint8, error) {
	srcPPD := float64(min(p.H, p.W)) / s.PhotoDegrees
	side := float64(s.Size) / s.TargetPPD * srcPPD
	if side > float64(min(p.H, p.W))+1e-9 {
		return nil, fmt.Errorf("photo %s (%d×%d) spans %.1f°, too small for a %.1f° patch", p.ID, p.W, p.H,
			s.PhotoDegrees, float64(s.Size)/s.TargetPPD)
	}
	side = math.Min(side, float64(min(p.H, p.W)))
	return resampleArea(p.Gray, p.H, p.W, (float64(p.H)-side)/2, (float64(p.W)-side)/2, side, s.Size), nil
}

// resampleArea averages the source region [y0, y0+side)×[x0, x0+side) into n×n output pixels with exact area
// weights (anti-aliased downsampling; bilinear when upsampling would be needed is not: side ≥ n is the usual case).
func resampleArea(src []uint8, h, w int, y0, x0, side float64, n int) []uint8 {
	out := make([]uint8, n*n)
	step := side / float64(n)
	for oy := range n {
		ya, yb := y0+float64(oy)*step, y0+float64(oy+1)*step
		for ox := range n {
			xa, xb := x0+float64(ox)*step, x0+float64(ox+1)*step
			var sum, area float64
			for y := int(math.Floor(ya)); float64(y) < yb && y < h; y++ {
				wy := math.Min(yb, float64(y+1)) - math.Max(ya, float64(y))
				if wy <= 0 {
					continue
				}
				for x := int(math.Floor(xa)); float64(x) < xb && x < w; x++ {
					wx := math.Min(xb, float64(x+1)) - math.Max(xa, float64(x))
					if wx <= 0 {
						continue
					}
					sum += wy * wx * float64(src[y*w+x])
					area += wy * wx
				}
			}
			out[oy*n+ox] = uint8(math.Round(sum / area))
		}
	}
	return out
}

func writeAtomic(file string, data []byte) error { return provenance.WriteFileAtomic(file, data) }

// RGBPatch loads a photograph of the manifest and returns its centred square crop (the shorter side), area-resampled
// to size×size, as interleaved 8-bit RGB: the test images of the corruption figures.
func RGBPatch(p Photo, dir string, size int) ([]uint8, error) {
	img, err := imgproc.DecodeFile(filepath.Join(dir, p.File()))
	if err != nil {
		return nil, fmt.Errorf("photo %s: %w (run `cotrain data fetch`)", p.ID, err)
	}
	b := img.Bounds()
	rgb := rgbPixels(img)
	side := min(b.Dx(), b.Dy())
	y0, x0 := float64(b.Dy()-side)/2, float64(b.Dx()-side)/2
	out := make([]uint8, size*size*3)
	plane := make([]uint8, b.Dx()*b.Dy())
	for ch := range 3 {
		for i := range plane {
			plane[i] = rgb[3*i+ch]
		}
		res := resampleArea(plane, b.Dy(), b.Dx(), y0, x0, float64(side), size)
		for i, v := range res {
			out[3*i+ch] = v
		}
	}
	return out, nil
}

// FindPhoto returns the manifest entry with the given id.
func FindPhoto(photos []Photo, id string) (Photo, error) {
	for _, p := range photos {
		if p.ID == id {
			return p, nil
		}
	}
	return Photo{}, fmt.Errorf("no photo %q in the manifest", id)
}

// PhotoSummary describes a manifest in a few lines: counts by kind and licence, and the source package.
func PhotoSummary(photos []Photo) string {
	byCat, byLicense := map[string]int{}, map[string]int{}
	for _, p := range photos {
		byCat[p.Category]++
		byLicense[p.License]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d photographs", len(photos))
	if len(photos) > 0 {
		fmt.Fprintf(&b, " from the Debian package %s %s (GCompris)", photos[0].Package, photos[0].Version)
	}
	fmt.Fprintf(&b, "\nby kind: %s\nby licence: %s\n", sortedCounts(byCat), sortedCounts(byLicense))
	return b.String()
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// SamplePatches cuts n patches with the sampler from photos chosen at random (seeded), returning the patches and
// the id of the photo each came from.
func SamplePatches(photos []PhotoImage, s PatchSampler, n int, seed uint64) ([][]uint8, []string, error) {
	rng := rand.New(rand.NewPCG(seed, 3))
	var patches [][]uint8
	var ids []string
	for range n {
		p := photos[rng.IntN(len(photos))]
		patch, err := s.Sample(p, rng)
		if err != nil {
			return nil, nil, err
		}
		patches = append(patches, patch)
		ids = append(ids, p.ID)
	}
	return patches, ids, nil
}
