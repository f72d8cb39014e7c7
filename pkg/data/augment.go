package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
)

// Augment applies the paper's training augmentation (the authors' torchvision pipeline, in its order) to one
// grayscale image of size h×w, in place: RandomCrop(padding 4, zero fill) → RandomHorizontalFlip(0.5) →
// RandomRotation(±15°, nearest, fill 0) about the image centre.
func Augment(img []uint8, h, w int, rng *rand.Rand, scratch []uint8) {
	const pad = 4
	if len(scratch) < h*w {
		scratch = make([]uint8, h*w)
	}
	crop := scratch[:h*w]
	// Random crop of the zero-padded image: offsets in [0, 2·pad].
	oy, ox := rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
	for y := range h {
		for x := range w {
			sy, sx := y+oy, x+ox
			if sy >= 0 && sy < h && sx >= 0 && sx < w {
				crop[y*w+x] = img[sy*w+sx]
			} else {
				crop[y*w+x] = 0
			}
		}
	}
	if rng.Float64() < 0.5 {
		for y := range h {
			row := crop[y*w : (y+1)*w]
			for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
				row[i], row[j] = row[j], row[i]
			}
		}
	}
	angle := (rng.Float64()*30 - 15) * math.Pi / 180
	cos, sin := math.Cos(angle), math.Sin(angle)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	for y := range h {
		for x := range w {
			// Inverse rotation of the output pixel gives the source pixel (nearest neighbour).
			dy, dx := float64(y)-cy, float64(x)-cx
			sx := math.Round(cos*dx + sin*dy + cx)
			sy := math.Round(-sin*dx + cos*dy + cy)
			if sy >= 0 && sy < float64(h) && sx >= 0 && sx < float64(w) {
				img[y*w+x] = crop[int(sy)*w+int(sx)]
			} else {
				img[y*w+x] = 0
			}
		}
	}
}

// Batch is a mini-batch ready for GoMLX: images as float32 [B, H, W, 1] (normalised), labels [B].
type Batch struct {
	Index   int // batch number within the epoch
	Images  []float32
	Labels  []int32
	Indices []int // positions of the images in the set
	B, H, W int
}

// Loader cuts a Set into shuffled, optionally augmented, normalised batches with several workers. Everything random
// is a function of (Seed, epoch, image): the same loader gives the same batches in every run.
type Loader struct {
	Set       *Set
	BatchSize int
	Stats     Stats // normalisation
	Augment   bool
	Shuffle   bool
	Seed      uint64
	Workers   int // 0: GOMAXPROCS
	Prefetch  int // batches prepared ahead; 0: 2 per worker
	// View selects an independent augmentation of the same order: two loaders that differ only in View visit the
	// images in the same order and crop, flip and rotate them independently (the Oracle's two views).
	View uint64
	// Transform, if not nil, changes image i (8-bit, after augmentation, before normalisation) in place; it must
	// be deterministic and safe for concurrent use (the Oracle's corruptions).
	Transform func(epoch, i int, img []uint8)
}

// NumBatches is the number of batches per epoch (the last may be smaller).
func (l Loader) NumBatches() int { return (l.Set.N + l.BatchSize - 1) / l.BatchSize }

// Order returns the order in which epoch visits the images.
func (l Loader) Order(epoch int) []int {
	if !l.Shuffle {
		order := make([]int, l.Set.N)
		for i := range order {
			order[i] = i
		}
		return order
	}
	return rand.New(rand.NewPCG(l.Seed, uint64(epoch)<<32|0x5eed)).Perm(l.Set.N)
}

// Epoch returns the batches of one epoch in order; the channel closes after the last batch. Stop early by
// cancelling: close(done).
func (l Loader) Epoch(epoch int, done <-chan struct{}) (<-chan Batch, error) {
	if l.Set.C != 1 {
		return nil, fmt.Errorf("loader: %s has %d channels; convert to grayscale first (data.Gray)", l.Set.Name, l.Set.C)
	}
	if l.BatchSize <= 0 {
		return nil, fmt.Errorf("loader: batch size %d", l.BatchSize)
	}
	if l.Stats.Std <= 0 {
		return nil, fmt.Errorf("loader: normalisation std %v (compute it with data.ComputeStats)", l.Stats.Std)
	}
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	prefetch := l.Prefetch
	if prefetch <= 0 {
		prefetch = 2 * workers
	}
	order := l.Order(epoch)
	n := l.NumBatches()
	slots := make([]chan Batch, n)
	for i := range slots {
		slots[i] = make(chan Batch, 1)
	}
	jobs := make(chan int)
	tokens := make(chan struct{}, prefetch) // batches in flight or waiting for the consumer
	for range workers {
		go func() {
			scratch := make([]uint8, 2*l.Set.H*l.Set.W)
			for b := range jobs {
				slots[b] <- l.makeBatch(epoch, b, order, scratch)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for b := range n {
			select {
			case tokens <- struct{}{}:
			case <-done:
				return
			}
			select {
			case jobs <- b:
			case <-done:
				return
			}
		}
	}()
	ordered := make(chan Batch)
	go func() {
		defer close(ordered)
		for b := range n {
			var batch Batch
			select {
			case batch = <-slots[b]:
			case <-done:
				return
			}
			<-tokens
			select {
			case ordered <- batch:
			case <-done:
				return
			}
		}
	}()
	return ordered, nil
}

func (l Loader) makeBatch(epoch, b int, order []int, scratch []uint8) Batch {
	lo, hi := b*l.BatchSize, min((b+1)*l.BatchSize, l.Set.N)
	hw := l.Set.H * l.Set.W
	batch := Batch{Index: b, B: hi - lo, H: l.Set.H, W: l.Set.W, Images: make([]float32, (hi-lo)*hw),
		Labels: make([]int32, hi-lo), Indices: append([]int(nil), order[lo:hi]...)}
	img := scratch[:hw]
	mean, inv := float32(l.Stats.Mean), float32(1/l.Stats.Std)
	for k, i := range batch.Indices {
		l.image(epoch, i, img, scratch[hw:])
		dst := batch.Images[k*hw : (k+1)*hw]
		for p, v := range img {
			dst[p] = (float32(v)/255 - mean) * inv
		}
		batch.Labels[k] = int32(l.Set.Labels[i])
	}
	return batch
}

// image writes image i as epoch sees it (augmented if the loader augments) into img.
func (l Loader) image(epoch, i int, img, scratch []uint8) {
	copy(img, l.Set.Image(i))
	if l.Augment {
		rng := rand.New(rand.NewPCG(l.Seed^uint64(epoch)*0x9e3779b97f4a7c15^l.View*0xbf58476d1ce4e5b9, uint64(i)))
		Augment(img, l.Set.H, l.Set.W, rng, scratch)
	}
	if l.Transform != nil {
		l.Transform(epoch, i, img)
	}
}

// Example returns image i as the loader presents it in epoch, before normalisation (for figures).
func (l Loader) Example(epoch, i int) []uint8 {
	img := make([]uint8, l.Set.H*l.Set.W)
	l.image(epoch, i, img, nil)
	return img
}
