package train

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress reports a run: on a terminal, a bar per epoch (steps, loss, accuracy, learning rate, ETA); elsewhere (a
// log, a notebook) one line per epoch.
type progress struct {
	w     io.Writer
	name  string
	tty   bool
	bar   *progressbar.ProgressBar
	start time.Time
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) startEpoch(epoch, epochs, steps int) {
	if p == nil || p.w == nil || !p.tty {
		return
	}
	p.bar = progressbar.NewOptions(steps, progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%s epoch %d/%d", p.name, epoch, epochs)),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
}

func (p *progress) step(i int, status string) {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s %s", p.name, status))
	_ = p.bar.Set(i)
}

func (p *progress) epochDone(m EpochMetrics, epochs int) {
	if p == nil || p.w == nil {
		return
	}
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	mark := ""
	if m.Improved {
		mark = " *"
	}
	if m.Restored {
		mark += " (best restored, lr reduced)"
	}
	elapsed := time.Since(p.start)
	eta := time.Duration(float64(elapsed) / float64(m.Epoch) * float64(max(epochs-m.Epoch, 0)))
	what := fmt.Sprintf("train acc %.1f%%  val acc %.1f%%", 100*m.TrainAcc, 100*m.Val)
	if p.name == string(NeuralPrediction) {
		what = fmt.Sprintf("poisson %.4f  val corr %.4f", m.Neural, m.Val)
	}
	fmt.Fprintf(p.w, "%s epoch %d/%d  loss %.4f  %s  lr %.3g  %.0f img/s  %s (≤ %s left)%s\n",
		p.name, m.Epoch, epochs, m.Loss, what, m.LR, m.ImagesPerS, elapsed.Round(time.Second), eta.Round(time.Second), mark)
}
