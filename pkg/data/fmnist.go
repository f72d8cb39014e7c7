package data

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FashionMNISTDir is where Debian's dataset-fashion-mnist package installs the data.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTEnv names the variable that points at another folder of the four files when no folder is given
// (a machine without the Debian package, such as a lent GPU machine).
const FashionMNISTEnv = "COTRAIN_FASHION_MNIST"

// FashionMNISTClasses are the ten Fashion-MNIST classes (Xiao, Rasul & Vollgraf 2017).
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
	"Sneaker", "Bag", "Ankle boot"}

// ErrFashionMNISTMissing is wrapped by LoadFashionMNIST when the files are absent.
var ErrFashionMNISTMissing = errors.New("Fashion-MNIST not found: install the Debian package dataset-fashion-mnist " +
	"(bash .ci/setup does it; or apt-get install dataset-fashion-mnist), or pass -data-dir (or set $COTRAIN_FASHION_MNIST) with the four *-ubyte.gz files")

// LoadFashionMNIST reads the training (60,000) and test (10,000) sets from the gzip'd IDX files in dir
// ($COTRAIN_FASHION_MNIST, else FashionMNISTDir, when dir is empty). Fashion-MNIST stands in for Tiny ImageNet in this reproduction. The packaged
// files are checked against the published content (FashionMNISTSHA256); files elsewhere must have the format's
// 28×28 images and ten classes (VerifyFashionMNIST checks their content too).
func LoadFashionMNIST(dir string) (train, test *Set, err error) {
	if dir == "" {
		dir = os.Getenv(FashionMNISTEnv)
	}
	if dir == "" {
		dir = FashionMNISTDir
	}
	return loadFashionMNIST(dir, filepath.Clean(dir) == FashionMNISTDir)
}

// VerifyFashionMNIST reads the four files in dir and checks their content against the published data set.
func VerifyFashionMNIST(dir string) error {
	_, _, err := loadFashionMNIST(dir, true)
	return err
}

func loadFashionMNIST(dir string, verify bool) (train, test *Set, err error) {
	load := func(split, prefix string) (*Set, error) {
		imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
		lblPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
		imgs, dims, err := readFashionMNIST(imgPath, verify)
		if err != nil {
			return nil, err
		}
		labels, ldims, err := readFashionMNIST(lblPath, verify)
		if err != nil {
			return nil, err
		}
		if len(dims) != 3 || dims[1] != 28 || dims[2] != 28 {
			return nil, fmt.Errorf("%s: dimensions %v, want images × 28 × 28", imgPath, dims)
		}
		if len(ldims) != 1 || ldims[0] != dims[0] {
			return nil, fmt.Errorf("%s: %v labels for %d images in %s", lblPath, ldims, dims[0], imgPath)
		}
		s := &Set{Name: "fashion-mnist/" + split, Source: dir, N: dims[0], H: dims[1], W: dims[2], C: 1,
			Pix: imgs, Labels: make([]int, dims[0]), Classes: FashionMNISTClasses}
		for i, l := range labels {
			s.Labels[i] = int(l)
		}
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", lblPath, err)
		}
		return s, nil
	}
	if train, err = load("train", "train"); err != nil {
		return nil, nil, err
	}
	if test, err = load("test", "t10k"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// FashionMNISTSHA256 are the SHA-256 sums of the four files' content (after gunzip): those of the published data set
// (Zalando Research), which Debian's dataset-fashion-mnist 0.0~git20200523 ships. Checking the content, not the .gz
// files, accepts any compression of the same data.
var FashionMNISTSHA256 = map[string]string{
	"train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
	"train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
	"t10k-images-idx3-ubyte.gz":  "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
	"t10k-labels-idx1-ubyte.gz":  "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

// maxIDXBytes bounds what an IDX header may claim (Fashion-MNIST's largest file holds 47 MB).
const maxIDXBytes = 1 << 31

// readFashionMNIST reads one of the four files; verify checks its content against the published data set.
func readFashionMNIST(path string, verify bool) ([]uint8, []int, error) {
	data, dims, sum, err := readIDXFile(path)
	if err != nil {
		return nil, nil, err
	}
	if want := FashionMNISTSHA256[filepath.Base(path)]; verify && sum != want {
		return nil, nil, fmt.Errorf("%s: not the published Fashion-MNIST (content sha256 %s, want %s): reinstall "+
			"dataset-fashion-mnist or give -data-dir the original files", path, sum, want)
	}
	return data, dims, nil
}

// ReadIDX reads a gzip'd (or plain) IDX file of unsigned bytes (the MNIST format: magic 0x0000 08 <ndim>, then the
// dimensions as big-endian uint32, then the data) and returns the data and the dimensions. A gzip stream is read to
// its end, so that its CRC is checked; bytes after the data are an error.
func ReadIDX(path string) ([]uint8, []int, error) {
	data, dims, _, err := readIDXFile(path)
	return data, dims, err
}

// readIDXFile is ReadIDX that also returns the SHA-256 of the (decompressed) content.
func readIDXFile(path string) ([]uint8, []int, string, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, "", fmt.Errorf("%s: %w", path, ErrFashionMNISTMissing)
		}
		return nil, nil, "", err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: not a valid gzip file: %w", path, err)
		}
		defer gz.Close()
		gz.Multistream(false)
		r = gz
	}
	h := sha256.New()
	data, dims, err := DecodeIDX(io.TeeReader(r, h))
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return data, dims, hex.EncodeToString(h.Sum(nil)), nil
}

// DecodeIDX reads one IDX stream of unsigned bytes to its end.
func DecodeIDX(r io.Reader) ([]uint8, []int, error) {
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("truncated IDX header: %w", err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 || magic[3] > 4 {
		return nil, nil, fmt.Errorf("not an IDX file of unsigned bytes (magic % x)", magic)
	}
	dims := make([]int, magic[3])
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("truncated IDX header: %w", err)
		}
		dims[i] = int(d)
		if dims[i] == 0 {
			return nil, nil, fmt.Errorf("IDX dimensions %v: a dimension of 0", dims[:i+1])
		}
		total *= dims[i]
		if total > maxIDXBytes {
			return nil, nil, fmt.Errorf("IDX dimensions %v claim more than %d bytes", dims[:i+1], maxIDXBytes)
		}
	}
	// Read in bounded steps: a header that claims more than the stream holds fails at the stream's end, not with
	// one huge allocation first.
	var buf bytes.Buffer
	if n, err := io.CopyN(&buf, r, int64(total)); err != nil {
		return nil, nil, fmt.Errorf("truncated IDX data: %d of %d bytes (%v)", n, total, err)
	}
	var extra [1]byte
	switch n, err := r.Read(extra[:]); {
	case n > 0:
		return nil, nil, fmt.Errorf("bytes after the %d of data that the IDX header claims", total)
	case err != nil && err != io.EOF:
		return nil, nil, fmt.Errorf("after the data: %w", err) // e.g. gzip: invalid checksum
	}
	return buf.Bytes(), dims, nil
}
