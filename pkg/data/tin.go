package data

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // some Tiny ImageNet mirrors ship PNGs
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/robustvision/cotrain/pkg/imgproc"
)

// LoadTinyImageNet reads Tiny ImageNet (Le & Yang 2015) from its published folder layout:
//
//	<dir>/wnids.txt                                 one WordNet id per line (200 classes)
//	<dir>/words.txt                                 optional: "<wnid>\t<names>" for readable class names
//	<dir>/train/<wnid>/images/*.JPEG                500 training images per class
//	<dir>/val/images/*.JPEG + val/val_annotations.txt  "<file>\t<wnid>\t…": the official validation set = test
//
// Classes are the sorted wnids, as torchvision's ImageFolder orders them. Images are RGB, 64×64.
func LoadTinyImageNet(dir string) (train, test *Set, err error) {
	wnidData, err := os.ReadFile(filepath.Join(dir, "wnids.txt"))
	if err != nil {
		return nil, nil, fmt.Errorf("Tiny ImageNet: %w (want the published layout: wnids.txt, train/<wnid>/images, val/images, val/val_annotations.txt)", err)
	}
	wnids := strings.Fields(string(wnidData))
	if len(wnids) == 0 {
		return nil, nil, fmt.Errorf("%s: no class ids", filepath.Join(dir, "wnids.txt"))
	}
	sort.Strings(wnids)
	index := map[string]int{}
	for i, w := range wnids {
		index[w] = i
	}
	names := append([]string(nil), wnids...)
	if words, err := os.ReadFile(filepath.Join(dir, "words.txt")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(words))
		for sc.Scan() {
			id, name, ok := strings.Cut(sc.Text(), "\t")
			if i, known := index[id]; ok && known {
				names[i], _, _ = strings.Cut(name, ",")
			}
		}
	}
	newSet := func(split string) *Set {
		return &Set{Name: "tiny-imagenet/" + split, Source: dir, H: 64, W: 64, C: 3, Classes: names}
	}
	train = newSet("train")
	for i, w := range wnids {
		files, err := filepath.Glob(filepath.Join(dir, "train", w, "images", "*"))
		if err != nil {
			return nil, nil, err
		}
		if len(files) == 0 {
			return nil, nil, fmt.Errorf("Tiny ImageNet: no training images in %s", filepath.Join(dir, "train", w, "images"))
		}
		sort.Strings(files)
		for _, f := range files {
			if err := appendImage(train, f, i); err != nil {
				return nil, nil, err
			}
		}
	}
	annPath := filepath.Join(dir, "val", "val_annotations.txt")
	ann, err := os.ReadFile(annPath)
	if err != nil {
		return nil, nil, fmt.Errorf("Tiny ImageNet: %w", err)
	}
	test = newSet("test (official validation)")
	sc := bufio.NewScanner(bytes.NewReader(ann))
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 2 {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			return nil, nil, fmt.Errorf("%s:%d: want \"<file>\\t<wnid>\\t…\", got %q", annPath, line, sc.Text())
		}
		label, ok := index[fields[1]]
		if !ok {
			return nil, nil, fmt.Errorf("%s:%d: class %q is not in wnids.txt", annPath, line, fields[1])
		}
		if err := appendImage(test, filepath.Join(dir, "val", "images", fields[0]), label); err != nil {
			return nil, nil, err
		}
	}
	return train, test, nil
}

func appendImage(s *Set, path string, label int) error {
	img, err := imgproc.DecodeFile(path)
	if err != nil {
		return err
	}
	b := img.Bounds()
	if b.Dx() != s.W || b.Dy() != s.H {
		return fmt.Errorf("%s: image is %d×%d, want %d×%d", path, b.Dx(), b.Dy(), s.W, s.H)
	}
	s.Pix = append(s.Pix, rgbPixels(img)...)
	s.Labels = append(s.Labels, label)
	s.N++
	return nil
}

// rgbPixels returns the image's pixels as interleaved 8-bit RGB (image/draw's fast paths convert YCbCr, the
// usual result of JPEG and WebP decoding).
func rgbPixels(img image.Image) []uint8 {
	b := img.Bounds()
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	}
	out := make([]uint8, 0, b.Dx()*b.Dy()*3)
	for y := range b.Dy() {
		row := rgba.Pix[y*rgba.Stride : y*rgba.Stride+4*b.Dx()]
		for x := 0; x < len(row); x += 4 {
			out = append(out, row[x], row[x+1], row[x+2])
		}
	}
	return out
}
