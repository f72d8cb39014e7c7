package data

import (
	"compress/gzip"
	"encoding/binary"
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

// FashionMNISTClasses are the ten Fashion-MNIST classes (Xiao, Rasul & Vollgraf 2017).
var FashionMNISTClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
	"Sneaker", "Bag", "Ankle boot"}

// ErrFashionMNISTMissing is wrapped by LoadFashionMNIST when the files are absent.
var ErrFashionMNISTMissing = errors.New("Fashion-MNIST not found: install the Debian package dataset-fashion-mnist " +
	"(bash .ci/setup does it; or apt-get install dataset-fashion-mnist), or pass -data-dir with the four *-ubyte.gz files")

// LoadFashionMNIST reads the training (60,000) and test (10,000) sets from the gzip'd IDX files in dir
// (FashionMNISTDir when dir is empty). Fashion-MNIST stands in for Tiny ImageNet in this reproduction.
func LoadFashionMNIST(dir string) (train, test *Set, err error) {
	if dir == "" {
		dir = FashionMNISTDir
	}
	load := func(split, prefix string) (*Set, error) {
		imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
		lblPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
		imgs, dims, err := ReadIDX(imgPath)
		if err != nil {
			return nil, err
		}
		labels, ldims, err := ReadIDX(lblPath)
		if err != nil {
			return nil, err
		}
		if len(dims) != 3 {
			return nil, fmt.Errorf("%s: %d dimensions, want 3 (images × rows × columns)", imgPath, len(dims))
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

// ReadIDX reads a gzip'd (or plain) IDX file of unsigned bytes (the MNIST format: magic 0x0000 08 <ndim>, then the
// dimensions as big-endian uint32, then the data) and returns the data and the dimensions.
func ReadIDX(path string) ([]uint8, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s: %w", path, ErrFashionMNISTMissing)
		}
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: not a valid gzip file: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, nil, fmt.Errorf("%s: truncated IDX header: %w", path, err)
	}
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 || magic[3] > 4 {
		return nil, nil, fmt.Errorf("%s: not an IDX file of unsigned bytes (magic % x)", path, magic)
	}
	dims := make([]int, magic[3])
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(r, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: truncated IDX header: %w", path, err)
		}
		dims[i] = int(d)
		total *= dims[i]
		if total > 1<<31 {
			return nil, nil, fmt.Errorf("%s: IDX dimensions %v too large", path, dims[:i+1])
		}
	}
	data := make([]uint8, total)
	if n, err := io.ReadFull(r, data); err != nil {
		return nil, nil, fmt.Errorf("%s: truncated IDX data: %d of %d bytes (%v)", path, n, total, err)
	}
	return data, dims, nil
}
