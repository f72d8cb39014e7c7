package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// writeIDX writes a gzip'd IDX file of bytes with the given dimensions.
func writeIDX(t *testing.T, path string, dims []int, data []byte) {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	gz.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(gz, binary.BigEndian, uint32(d))
	}
	gz.Write(data)
	gz.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fakeFashionMNIST(t *testing.T, nTrain, nTest int) string {
	dir := t.TempDir()
	for _, s := range []struct {
		prefix string
		n      int
	}{{"train", nTrain}, {"t10k", nTest}} {
		imgs := make([]byte, s.n*28*28)
		labels := make([]byte, s.n)
		for i := range s.n {
			labels[i] = byte(i % 10)
			for p := range 28 * 28 {
				imgs[i*784+p] = byte((i + p) % 251)
			}
		}
		writeIDX(t, filepath.Join(dir, s.prefix+"-images-idx3-ubyte.gz"), []int{s.n, 28, 28}, imgs)
		writeIDX(t, filepath.Join(dir, s.prefix+"-labels-idx1-ubyte.gz"), []int{s.n}, labels)
	}
	return dir
}

func TestFashionMNIST(t *testing.T) {
	dir := fakeFashionMNIST(t, 200, 50)
	train, test, err := LoadFashionMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 200 || test.N != 50 || train.H != 28 || train.C != 1 || len(train.Classes) != 10 {
		t.Fatalf("train %d×%d×%d, test %d", train.N, train.H, train.C, test.N)
	}
	if train.Labels[13] != 3 || train.Image(2)[5] != 7 {
		t.Errorf("labels or pixels misread: label %d, pixel %d", train.Labels[13], train.Image(2)[5])
	}
	for _, c := range train.ClassCounts() {
		if c != 20 {
			t.Errorf("class counts %v", train.ClassCounts())
			break
		}
	}
	split := PaperSplit(train, test)
	if split.Train.N != 180 || split.Validation.N != 20 || split.Test.N != 50 {
		t.Errorf("split %d/%d/%d, want 180/20/50", split.Train.N, split.Validation.N, split.Test.N)
	}
	again := PaperSplit(train, test)
	if !bytes.Equal(split.Validation.Pix, again.Validation.Pix) {
		t.Error("the split is not deterministic")
	}
	// Train and validation are disjoint: pixel patterns are unique per image (i mod 251 shifts).
	seen := map[string]bool{}
	for _, s := range []*Set{split.Train, split.Validation} {
		for i := range s.N {
			k := string(s.Image(i))
			if seen[k] {
				t.Fatal("an image is in both train and validation")
			}
			seen[k] = true
		}
	}
	sub := Stratified(split.Train, 5, 9)
	for _, c := range sub.ClassCounts() {
		if c != 5 {
			t.Errorf("stratified counts %v", sub.ClassCounts())
			break
		}
	}
	if sub2 := Stratified(split.Train, 5, 9); !bytes.Equal(sub.Pix, sub2.Pix) {
		t.Error("stratified subset not deterministic")
	}
}

func TestFashionMNISTErrors(t *testing.T) {
	_, _, err := LoadFashionMNIST(t.TempDir())
	if !errors.Is(err, ErrFashionMNISTMissing) || !strings.Contains(err.Error(), "dataset-fashion-mnist") ||
		!strings.Contains(err.Error(), ".ci/setup") {
		t.Errorf("missing data: %v", err)
	}
	dir := fakeFashionMNIST(t, 20, 10)
	path := filepath.Join(dir, "train-images-idx3-ubyte.gz")
	writeIDX(t, path, []int{20, 28, 28}, make([]byte, 100)) // truncated data
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated IDX: %v", err)
	}
	os.WriteFile(path, []byte("not gzip"), 0o644)
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt gzip: %v", err)
	}
	writeIDX(t, path, []int{20, 28, 28}, make([]byte, 20*784))
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), []int{19}, make([]byte, 19))
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "labels") {
		t.Errorf("label count mismatch: %v", err)
	}
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	gz.Write([]byte{0, 0, 9, 3, 0, 0})
	gz.Close()
	os.WriteFile(path, b.Bytes(), 0o644)
	if _, _, err := ReadIDX(path); err == nil || !strings.Contains(err.Error(), "magic") {
		t.Errorf("bad magic: %v", err)
	}
}

func writeJPEG(t *testing.T, path string, v uint8) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = v, v/2, 255-v, 255
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	f.Close()
}

func fakeTinyImageNet(t *testing.T) string {
	dir := t.TempDir()
	wnids := []string{"n03", "n01", "n02"} // unsorted on purpose: classes are the sorted ids
	os.WriteFile(filepath.Join(dir, "wnids.txt"), []byte(strings.Join(wnids, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "words.txt"), []byte("n01\tgoldfish, Carassius auratus\nn02\tcat\nn03\tbus\n"), 0o644)
	for k, w := range wnids {
		for i := range 4 {
			writeJPEG(t, filepath.Join(dir, "train", w, "images", w+"_"+string(rune('0'+i))+".JPEG"), uint8(40*k+i))
		}
	}
	var ann strings.Builder
	for i := range 6 {
		name := "val_" + string(rune('0'+i)) + ".JPEG"
		writeJPEG(t, filepath.Join(dir, "val", "images", name), uint8(10*i))
		ann.WriteString(name + "\t" + wnids[i%3] + "\t0\t0\t63\t63\n")
	}
	os.WriteFile(filepath.Join(dir, "val", "val_annotations.txt"), []byte(ann.String()), 0o644)
	return dir
}

func TestTinyImageNet(t *testing.T) {
	dir := fakeTinyImageNet(t)
	train, test, err := LoadTinyImageNet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 12 || test.N != 6 || train.C != 3 || train.H != 64 {
		t.Fatalf("train %d, test %d, %d channels", train.N, test.N, train.C)
	}
	if strings.Join(train.Classes, ",") != "goldfish,cat,bus" {
		t.Errorf("classes %v, want sorted wnids named from words.txt", train.Classes)
	}
	if test.Labels[0] != 2 || test.Labels[1] != 0 { // val_0 is n03 (index 2), val_1 is n01 (index 0)
		t.Errorf("test labels %v", test.Labels)
	}
	gray := Fit(Gray(train), 32)
	if gray.C != 1 || gray.H != 32 || gray.N != 12 {
		t.Errorf("gray/fit: %d×%d×%d", gray.N, gray.H, gray.C)
	}
	// A corrupt JPEG: the error names the file.
	bad := filepath.Join(dir, "train", "n02", "images", "n02_1.JPEG")
	os.WriteFile(bad, []byte("\xff\xd8\xff garbage"), 0o644)
	if _, _, err := LoadTinyImageNet(dir); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt JPEG: %v", err)
	}
	writeJPEG(t, bad, 1)
	os.WriteFile(filepath.Join(dir, "val", "val_annotations.txt"), []byte("val_0.JPEG\tn99\t0\n"), 0o644)
	if _, _, err := LoadTinyImageNet(dir); err == nil || !strings.Contains(err.Error(), "n99") {
		t.Errorf("unknown class in annotations: %v", err)
	}
	if _, _, err := LoadTinyImageNet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "wnids.txt") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestFitPadsFashionMNIST(t *testing.T) {
	s := &Set{Name: "x", N: 1, H: 28, W: 28, C: 1, Pix: make([]uint8, 784), Labels: []int{0}, Classes: []string{"a"}}
	for i := range s.Pix {
		s.Pix[i] = 200
	}
	f := Fit(s, 32)
	if f.Image(0)[0] != 0 || f.Image(0)[2*32+2] != 200 || f.Image(0)[29*32+29] != 200 || f.Image(0)[30*32+30] != 0 {
		t.Error("28×28 is not centred in 32×32 with 2 px of zero padding")
	}
	f64 := Fit(s, 64)
	if f64.Image(0)[3*64+3] != 0 || f64.Image(0)[4*64+4] != 200 || f64.Image(0)[59*64+59] != 200 || f64.Image(0)[60*64+60] != 0 {
		t.Error("28×28 at 64 should be enlarged ×2 and padded by 4 px")
	}
}

func TestAugmentAndLoader(t *testing.T) {
	train, _, err := LoadFashionMNIST(fakeFashionMNIST(t, 100, 10))
	if err != nil {
		t.Fatal(err)
	}
	set := Fit(train, 32)
	stats := ComputeStats(set)
	l := Loader{Set: set, BatchSize: 32, Stats: stats, Augment: true, Shuffle: true, Seed: 7, Workers: 3}
	collect := func(l Loader, epoch int) []Batch {
		ch, err := l.Epoch(epoch, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []Batch
		for b := range ch {
			out = append(out, b)
		}
		return out
	}
	a, b := collect(l, 0), collect(l, 0)
	if len(a) != 4 || a[3].B != 4 {
		t.Fatalf("%d batches, last of %d; want 4 batches, the last of 4", len(a), a[len(a)-1].B)
	}
	for i := range a {
		if a[i].Index != i || !equalF(a[i].Images, b[i].Images) {
			t.Fatalf("batch %d differs between two runs with the same seed", i)
		}
	}
	c := collect(l, 1)
	if equalF(a[0].Images, c[0].Images) {
		t.Error("epochs 0 and 1 give the same first batch")
	}
	plain := collect(Loader{Set: set, BatchSize: 50, Stats: stats}, 0)
	img := set.Image(0)
	if got, want := plain[0].Images[40], (float32(img[40])/255-float32(stats.Mean))/float32(stats.Std); absF(got-want) > 1e-6 {
		t.Errorf("normalisation: %v, want %v", got, want)
	}
	// Augmentation keeps the content on the whole: the mean brightness stays within the padding/rotation losses.
	var sumA, sumP float64
	for _, v := range a[0].Images {
		sumA += float64(v)
	}
	for _, v := range plain[0].Images[:len(a[0].Images)] {
		sumP += float64(v)
	}
	if sumA == sumP {
		t.Error("augmentation changed nothing")
	}
	done := make(chan struct{})
	ch, _ := l.Epoch(0, done)
	<-ch
	close(done) // stopping early must not block or leak
}

func equalF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func absF(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func TestAugmentDeterministic(t *testing.T) {
	base := make([]uint8, 32*32)
	for i := range base {
		base[i] = uint8(i * 13)
	}
	run := func(seed uint64) []uint8 {
		img := append([]uint8(nil), base...)
		Augment(img, 32, 32, rand.New(rand.NewPCG(seed, 0)), nil)
		return img
	}
	if !bytes.Equal(run(1), run(1)) {
		t.Error("same seed, different augmentation")
	}
	if bytes.Equal(run(1), run(2)) {
		t.Error("different seeds, same augmentation")
	}
}

// rccBytes builds a version-2 Qt resource archive holding the given files under one folder.
func rccBytes(folder string, files map[string][]byte) []byte {
	var names, data bytes.Buffer
	nameOff := map[string]int{}
	addName := func(n string) int {
		if off, ok := nameOff[n]; ok {
			return off
		}
		off := names.Len()
		u := utf16.Encode([]rune(n))
		binary.Write(&names, binary.BigEndian, uint16(len(u)))
		binary.Write(&names, binary.BigEndian, uint32(0))
		for _, c := range u {
			binary.Write(&names, binary.BigEndian, c)
		}
		nameOff[n] = off
		return off
	}
	var keys []string
	for k := range files {
		keys = append(keys, k)
	}
	var tree bytes.Buffer
	entry := func(name int, flags uint16, a, b uint32) {
		binary.Write(&tree, binary.BigEndian, uint32(name))
		binary.Write(&tree, binary.BigEndian, flags)
		binary.Write(&tree, binary.BigEndian, a)
		binary.Write(&tree, binary.BigEndian, b)
		binary.Write(&tree, binary.BigEndian, uint64(0))
	}
	entry(0, 2, 1, 1)                               // root: 1 child at index 1
	entry(addName(folder), 2, uint32(len(keys)), 2) // folder: children from index 2
	for _, k := range keys {
		off := data.Len()
		binary.Write(&data, binary.BigEndian, uint32(len(files[k])))
		data.Write(files[k])
		entry(addName(k), 0, 0, uint32(off)) // territory/language 0, then data offset
	}
	header := 24
	out := []byte("qres")
	out = binary.BigEndian.AppendUint32(out, 2)
	out = binary.BigEndian.AppendUint32(out, uint32(header))
	out = binary.BigEndian.AppendUint32(out, uint32(header+tree.Len()))
	out = binary.BigEndian.AppendUint32(out, uint32(header+tree.Len()+data.Len()))
	out = binary.BigEndian.AppendUint32(out, 0)
	out = append(out, tree.Bytes()...)
	out = append(out, data.Bytes()...)
	return append(out, names.Bytes()...)
}

func TestRCCAndPhotoFetch(t *testing.T) {
	var png bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 120, 90))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	jpeg.Encode(&png, img, nil)
	content := png.Bytes()
	rcc := rccBytes("photos", map[string][]byte{"a.jpg": content, "b.jpg": []byte("xyz")})
	files, err := parseRCC(rcc)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("%d files", len(files))
	}
	for _, f := range files {
		b, _ := f.Bytes()
		if f.Path == "/photos/a.jpg" && !bytes.Equal(b, content) {
			t.Error("a.jpg content differs")
		}
	}
	if _, err := parseRCC([]byte("qres\x00\x00\x00\x02\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00")); err == nil {
		t.Error("a damaged archive must fail")
	}
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not available")
	}
	// A fake Debian package holding the archive.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte("Package: fake-photos\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "usr", "share"), 0o755)
	os.WriteFile(filepath.Join(root, "usr", "share", "p.rcc"), rcc, 0o644)
	debDir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-b", root, filepath.Join(debDir, "fake-photos_1.0_all.deb")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v %s", err, out)
	}
	photo := Photo{ID: "a", Category: "object", Package: "fake-photos", Version: "1.0", Archive: "usr/share/p.rcc",
		Path: "/photos/a.jpg", License: "CC0-1.0", Copyright: "me", SHA256: sha256Hex(content)}
	manifest := filepath.Join(t.TempDir(), "m.tsv")
	if err := WriteManifest(manifest, []Photo{photo}); err != nil {
		t.Fatal(err)
	}
	list, err := LoadManifest(manifest)
	if err != nil || len(list) != 1 || list[0] != photo {
		t.Fatalf("manifest round trip: %v %v", list, err)
	}
	cache := t.TempDir()
	var log bytes.Buffer
	if err := FetchPhotos(list, cache, debDir, &log); err != nil {
		t.Fatal(err)
	}
	photos, err := LoadPhotos(list, cache)
	if err != nil || len(photos) != 1 || photos[0].W != 120 {
		t.Fatalf("LoadPhotos: %v %v", photos, err)
	}
	patch, err := (PatchSampler{PhotoDegrees: 6, TargetPPD: 10, Size: 16}).Sample(photos[0], rand.New(rand.NewPCG(1, 1)))
	if err != nil || len(patch) != 256 {
		t.Fatalf("patch: %d values, %v", len(patch), err)
	}
	if _, err := (PatchSampler{PhotoDegrees: 1, TargetPPD: 10, Size: 64}).Sample(photos[0], rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("a patch larger than the photo must fail")
	}
	// A wrong checksum is an error and leaves nothing behind.
	photo.SHA256 = strings.Repeat("0", 64)
	photo.ID = "b"
	cache2 := t.TempDir()
	if err := FetchPhotos([]Photo{photo}, cache2, debDir, &log); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("checksum mismatch: %v", err)
	}
	if entries, _ := os.ReadDir(cache2); len(entries) != 0 {
		t.Errorf("a failed fetch left files: %v", entries)
	}
}

func TestManifestErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"header":    "id\tcategory\n",
		"fields":    strings.Join(manifestHeader, "\t") + "\na\tb\n",
		"duplicate": strings.Join(manifestHeader, "\t") + "\n" + strings.Repeat("a\tc\tp\tv\tar\tpa\tl\tcr\t"+strings.Repeat("f", 64)+"\n", 2),
		"sha":       strings.Join(manifestHeader, "\t") + "\na\tc\tp\tv\tar\tpa\tl\tcr\tabc\n",
	} {
		path := filepath.Join(dir, name+".tsv")
		os.WriteFile(path, []byte(content), 0o644)
		if _, err := LoadManifest(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
	c := parseCopyright([]byte("Files: *\nCopyright: all\nLicense: GPL-3+\n\nFiles: src/a/*.svg\n src/b/x.jpg\nCopyright: X\nLicense: CC0-1.0\n"))
	if l, h := c.lookup("src/b/x.webp"); l != "CC0-1.0" || h != "X" {
		t.Errorf("lookup x.webp = %s, %s", l, h)
	}
	if l, _ := c.lookup("src/c/y.webp"); l != "GPL-3+" {
		t.Errorf("fallback licence %s", l)
	}
}

// The committed manifest lists at least 150 distinct photographs of the four kinds.
func TestCommittedManifest(t *testing.T) {
	photos, err := LoadManifest(filepath.Join("..", "..", "data", "photos.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]bool{}
	cats := map[string]int{}
	for _, p := range photos {
		sums[p.SHA256] = true
		cats[p.Category]++
		if p.License == "" || p.Package == "" || p.Version == "" {
			t.Errorf("%s: incomplete entry %+v", p.ID, p)
		}
	}
	if len(sums) < 150 {
		t.Errorf("%d distinct photographs, want at least 150", len(sums))
	}
	for _, c := range []string{"animal", "building", "object", "scene"} {
		if cats[c] == 0 {
			t.Errorf("no photographs of kind %s", c)
		}
	}
}

// Hostile and damaged data files (the reliability issue's cases): each is an error naming the file, never a silent
// wrong result.
func TestDamagedDataFiles(t *testing.T) {
	dir := fakeFashionMNIST(t, 20, 10)
	labels := filepath.Join(dir, "train-labels-idx1-ubyte.gz")
	good, _ := os.ReadFile(labels)
	// One bit flipped in the gzip CRC (gzip -t reports it): the labels are not trusted.
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 1
	os.WriteFile(labels, flipped, 0o644)
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), labels) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a CRC error in %s: %v", labels, err)
	}
	os.WriteFile(labels, good, 0o644)
	// Images of 1×1 pixels are not Fashion-MNIST.
	images := filepath.Join(dir, "train-images-idx3-ubyte.gz")
	writeIDX(t, images, []int{20, 1, 1}, make([]byte, 20))
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "28") {
		t.Errorf("1×1 images: %v", err)
	}
	// Bytes after the data the header claims.
	writeIDX(t, images, []int{20, 28, 28}, make([]byte, 20*784+5))
	if _, _, err := LoadFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "after") {
		t.Errorf("trailing bytes: %v", err)
	}
	// Files that are well-formed but not the published content fail verification, naming the file.
	writeIDX(t, images, []int{20, 28, 28}, make([]byte, 20*784))
	if err := VerifyFashionMNIST(dir); err == nil || !strings.Contains(err.Error(), "not the published Fashion-MNIST") {
		t.Errorf("verification of made-up data: %v", err)
	}
	// A header that claims more than exists is refused without allocating what it claims.
	if _, _, err := DecodeIDX(bytes.NewReader([]byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})); err == nil {
		t.Error("an IDX header claiming 2^62 bytes was accepted")
	}
	// `data check` fails when Fashion-MNIST is missing.
	var out bytes.Buffer
	if err := CheckReport(&out, t.TempDir(), "", filepath.Join("..", "..", "data", "photos.tsv"), t.TempDir()); err == nil {
		t.Errorf("data check with no data passed:\n%s", out.String())
	}
	// No training images: a clear error, not NaN statistics.
	if _, err := Load(Classification{Dataset: "fmnist", Dir: fakeFashionMNIST(t, 0, 10), Size: 32}, ""); err == nil {
		t.Error("a data set without training images was accepted")
	}
}

// Held-out images are the last of each class, and none of them is in the training, validation or test split.
func TestHoldOut(t *testing.T) {
	dir := fakeFashionMNIST(t, 200, 50)
	p, err := Load(Classification{Dataset: "fmnist", Dir: dir, Size: 32, HoldoutPerClass: 3}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Holdout == nil || p.Holdout.N != 30 || p.Train.N+p.Validation.N != 170 {
		t.Fatalf("hold-out of %v images, train %d + validation %d", p.Holdout, p.Train.N, p.Validation.N)
	}
	seen := map[string]bool{}
	for _, s := range []*Set{p.Train, p.Validation} {
		for i := range s.N {
			seen[string(s.Image(i))] = true
		}
	}
	for i := range p.Holdout.N {
		if seen[string(p.Holdout.Image(i))] {
			t.Fatalf("held-out image %d is also in a classification split", i)
		}
	}
	if _, err := Load(Classification{Dataset: "fmnist", Dir: dir, Size: 32, HoldoutPerClass: 20}, ""); err == nil {
		t.Error("holding out every image of a class was accepted")
	}
}

// FuzzDecodeIDX: no input makes the IDX reader panic; what it accepts has as many bytes as its dimensions say.
func FuzzDecodeIDX(f *testing.F) {
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3})
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 9, 9, 9, 9})
	f.Add([]byte{0, 0, 8, 2, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		data, dims, err := DecodeIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range dims {
			n *= d
		}
		if len(data) != n {
			t.Errorf("%d bytes for dimensions %v", len(data), dims)
		}
	})
}

// FirstTrain keeps the first images of the training file, and $COTRAIN_FASHION_MNIST points at another folder.
func TestFirstTrainAndEnvironment(t *testing.T) {
	dir := fakeFashionMNIST(t, 200, 50)
	t.Setenv(FashionMNISTEnv, dir)
	p, err := Load(Classification{Dataset: "fmnist", Size: 28, FirstTrain: 100}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Train.N + p.Validation.N; n != 100 || !strings.Contains(p.Train.Name, "[first 100]") {
		t.Errorf("FirstTrain 100: %d training and validation images, named %q", n, p.Train.Name)
	}
	if _, err := Load(Classification{Dataset: "fmnist", Size: 28, FirstTrain: 300}, ""); err == nil ||
		!strings.Contains(err.Error(), "first 300") {
		t.Errorf("FirstTrain beyond the file: %v", err)
	}
}

// Transformed applies the transform to a copy, image by image with its index, and leaves the set as it was.
func TestTransformed(t *testing.T) {
	s := &Set{Name: "s", N: 3, H: 1, W: 2, C: 1, Pix: []uint8{1, 2, 3, 4, 5, 6}, Labels: []int{0, 1, 0}}
	out := s.Transformed("s/plus", func(epoch, i int, img []uint8) {
		for k := range img {
			img[k] += uint8(10 * i)
		}
	})
	if out.Name != "s/plus" || out.N != 3 || !slices.Equal(out.Pix, []uint8{1, 2, 13, 14, 25, 26}) ||
		!slices.Equal(out.Labels, s.Labels) {
		t.Errorf("transformed: %+v", out)
	}
	if !slices.Equal(s.Pix, []uint8{1, 2, 3, 4, 5, 6}) {
		t.Errorf("the original changed: %v", s.Pix)
	}
}
