package figures

import (
	"fmt"
	"image"
	"math/rand/v2"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/data"
)

// gridSpec lays out images in rows and columns with optional row labels (left), column labels (top) and captions
// (under each image).
type gridSpec struct {
	title     string
	cells     [][]image.Image // [row][col]; nil cells stay empty
	rowLabels []string
	colLabels []string
	captions  [][]string
	cellCm    float64 // size of one cell in centimetres
}

func (g gridSpec) figure() (Figure, error) {
	rows := len(g.cells)
	if rows == 0 {
		return Figure{}, fmt.Errorf("figure %q: no images", g.title)
	}
	cols := 0
	for _, r := range g.cells {
		cols = max(cols, len(r))
	}
	p := newPlot()
	p.Title.Text = g.title
	p.HideAxes()
	const gap = 0.08
	capH := 0.0
	if g.captions != nil {
		capH = 0.25
	}
	for r, row := range g.cells {
		for c, img := range row {
			if img == nil {
				continue
			}
			y := -float64(r) * (1 + capH)
			p.Add(plotter.NewImage(img, float64(c)+gap/2, y-1+gap/2, float64(c)+1-gap/2, y-gap/2))
		}
	}
	leftMargin := 0.0
	if len(g.rowLabels) > 0 {
		leftMargin = 1.6
	}
	cm := g.cellCm
	if cm == 0 {
		cm = 2
	}
	w := vg.Length((float64(cols)+leftMargin)*cm+1) * vg.Centimeter
	h := vg.Length((float64(rows)*(1+capH)+0.35)*cm+1.5) * vg.Centimeter
	small := p.X.Label.TextStyle
	small.Font.Size = readable(w, 11)
	addLabels := func(xys plotter.XYs, labels []string, style text.Style) error {
		if len(xys) == 0 {
			return nil
		}
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return err
		}
		for i := range l.TextStyle {
			l.TextStyle[i] = style
		}
		p.Add(l)
		return nil
	}
	left := small
	left.XAlign, left.YAlign = draw.XRight, draw.YCenter
	var xys plotter.XYs
	var labels []string
	for r, lab := range g.rowLabels {
		xys = append(xys, plotter.XY{X: -0.05, Y: -float64(r)*(1+capH) - 0.5})
		labels = append(labels, lab)
	}
	if err := addLabels(xys, labels, left); err != nil {
		return Figure{}, err
	}
	top := small
	top.XAlign, top.YAlign = draw.XCenter, draw.YBottom
	xys, labels = nil, nil
	for c, lab := range g.colLabels {
		xys = append(xys, plotter.XY{X: float64(c) + 0.5, Y: 0.05})
		labels = append(labels, lab)
	}
	if err := addLabels(xys, labels, top); err != nil {
		return Figure{}, err
	}
	cap := small
	cap.Font.Size = readable(w, 10.5)
	cap.XAlign, cap.YAlign = draw.XCenter, draw.YTop
	xys, labels = nil, nil
	for r, row := range g.captions {
		for c, lab := range row {
			xys = append(xys, plotter.XY{X: float64(c) + 0.5, Y: -float64(r)*(1+capH) - 1.02})
			labels = append(labels, lab)
		}
	}
	if err := addLabels(xys, labels, cap); err != nil {
		return Figure{}, err
	}
	p.X.Min, p.X.Max = -leftMargin, float64(cols)
	p.Y.Min, p.Y.Max = -float64(rows)*(1+capH), 0.35
	p.Title.TextStyle.Font.Size = max(p.Title.TextStyle.Font.Size, readable(w, 12.5))
	// A title wider than the images widens the figure (the images keep their size, centred).
	if tw := p.Title.TextStyle.Rectangle(g.title).Size().X + vg.Centimeter; tw > w {
		extra := float64((tw - w) / w)
		span := p.X.Max - p.X.Min
		p.X.Min, p.X.Max = p.X.Min-span*extra/2, p.X.Max+span*extra/2
		w = tw
	}
	return Figure{Plot: p, Width: w, Height: h}, nil
}

// grayImage wraps 8-bit grey pixels as an image.
func grayImage(pix []uint8, h, w int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, pix)
	return img
}

// ClassSamples shows perClass random images of every class of a data set, one row per class (Section 2: the
// classification data). The title names the set; a stand-in should say so in name.
func ClassSamples(s *data.Set, perClass int, seed uint64, name string) (Figure, error) {
	if s.C != 1 {
		s = data.Gray(s)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	byClass := make([][]int, len(s.Classes))
	for i, l := range s.Labels {
		byClass[l] = append(byClass[l], i)
	}
	g := gridSpec{title: fmt.Sprintf("%s: %d images per class", name, perClass), cellCm: 1.6}
	for c, members := range byClass {
		rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
		var row []image.Image
		for _, i := range members[:min(perClass, len(members))] {
			row = append(row, grayImage(s.Image(i), s.H, s.W))
		}
		g.cells = append(g.cells, row)
		g.rowLabels = append(g.rowLabels, fmt.Sprintf("%s (%d)", s.Classes[c], len(members)))
	}
	return g.figure()
}

// AugmentationExamples shows the first n images of a (grayscale) set as they are and as the training loader
// augments them in the given epochs.
func AugmentationExamples(s *data.Set, n int, epochs []int, seed uint64) (Figure, error) {
	if s.C != 1 {
		return Figure{}, fmt.Errorf("augmentation figure: %s is not grayscale", s.Name)
	}
	l := data.Loader{Set: s, Augment: true, Seed: seed}
	g := gridSpec{title: "Training augmentation: crop (4 px padding), flip, rotation ±15°", cellCm: 1.8}
	var orig []image.Image
	for i := range min(n, s.N) {
		orig = append(orig, grayImage(s.Image(i), s.H, s.W))
	}
	g.cells = append(g.cells, orig)
	g.rowLabels = append(g.rowLabels, "original")
	for _, e := range epochs {
		var row []image.Image
		for i := range min(n, s.N) {
			row = append(row, grayImage(l.Example(e, i), s.H, s.W))
		}
		g.cells = append(g.cells, row)
		g.rowLabels = append(g.rowLabels, fmt.Sprintf("epoch %d", e))
	}
	return g.figure()
}

// PhotoPatches shows grayscale patches cut from the natural photographs, captioned with their photo's id.
func PhotoPatches(patches [][]uint8, size int, captions []string, cols int, title string) (Figure, error) {
	if len(patches) == 0 {
		return Figure{}, fmt.Errorf("photo patches: none given")
	}
	g := gridSpec{title: title, cellCm: 2.2}
	var row []image.Image
	var capRow []string
	for i, p := range patches {
		row = append(row, grayImage(p, size, size))
		c := captions[i]
		if _, rest, ok := strings.Cut(c, "-"); ok { // drop the GCompris activity prefix of photo ids
			c = rest
		}
		capRow = append(capRow, shorten(c, 18))
		if len(row) == cols || i == len(patches)-1 {
			g.cells = append(g.cells, row)
			g.captions = append(g.captions, capRow)
			row, capRow = nil, nil
		}
	}
	return g.figure()
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// CorruptionPhoto is the photograph (an id of data/photos.tsv) that the corruption figures show.
const CorruptionPhoto = "erase-kingfisher"

// CorruptionExamples is Fig. 9 of the paper: one image under every corruption at one severity.
func CorruptionExamples(img corrupt.Image, severity int, seed uint64, preset corrupt.Preset) (Figure, error) {
	all := corrupt.All()
	g := gridSpec{title: fmt.Sprintf("Fig. 9 — the corruptions at severity %d (preset %s; frost textures are procedural)", severity, preset), cellCm: 2.6}
	orig := corruptToStd(img)
	row := []image.Image{orig}
	caps := []string{"original"}
	for _, c := range all {
		out, err := c.Apply(img, severity, seed, preset)
		if err != nil {
			return Figure{}, err
		}
		row = append(row, corruptToStd(out))
		caps = append(caps, c.Name)
		if len(row) == 8 {
			g.cells, g.captions = append(g.cells, row), append(g.captions, caps)
			row, caps = nil, nil
		}
	}
	if len(row) > 0 {
		g.cells, g.captions = append(g.cells, row), append(g.captions, caps)
	}
	return g.figure()
}

// CorruptionGrid shows one image under every corruption (rows) and severity (columns).
func CorruptionGrid(img corrupt.Image, seed uint64, preset corrupt.Preset) (Figure, error) {
	g := gridSpec{title: fmt.Sprintf("Every corruption × severity (preset %s)", preset), cellCm: 1.9,
		colLabels: []string{"severity 1", "2", "3", "4", "5"}}
	for _, c := range corrupt.All() {
		var row []image.Image
		for sev := 1; sev <= 5; sev++ {
			out, err := c.Apply(img, sev, seed, preset)
			if err != nil {
				return Figure{}, err
			}
			row = append(row, corruptToStd(out))
		}
		g.cells = append(g.cells, row)
		g.rowLabels = append(g.rowLabels, fmt.Sprintf("%s (%s)", c.Name, c.Category))
	}
	return g.figure()
}

// corruptToStd shows an image as the model sees it: grayscale (PIL "L" weights after corrupting in RGB).
func corruptToStd(m corrupt.Image) image.Image { return corrupt.RGBToGray(m).ToStd() }
