package nb

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/widgets"

	"github.com/robustvision/cotrain/pkg/analysis"
)

// ExploreSteps are the step counts offered by Explore.
var ExploreSteps = []int{100, 300, 1000, 3000}

// Explore is Section 4's experiment to play with: the image reconstructed live from each of the explorer's models, and
// the spectral control, side by side, for the norm constraint on a slider and the number of steps on a menu. The
// reconstructions under the controls are replaced in place; while the slider is dragged only its latest value is
// computed; Stop ends the cell. Without a browser (COTRAIN_HEADLESS, as when the notebooks are executed by the tests
// or nbconvert) it shows the first value and returns. norm and steps are the first values; maxNorm bounds the slider.
func Explore(e *analysis.Explorer, norm, maxNorm float64, steps int) error {
	view := func(ctx context.Context, n float64, s int) (string, error) {
		v, err := e.AtContext(ctx, n, s)
		if err != nil {
			return "", err
		}
		return renderView(e, v)
	}
	if os.Getenv("COTRAIN_HEADLESS") != "" || !gonbui.IsNotebook {
		html, err := view(context.Background(), norm, steps)
		if err != nil {
			return err
		}
		gonbui.DisplayHTML(html + `<p><i>No browser: the sliders are not shown. Open the notebook in Jupyter to move them.</i></p>`)
		gonbui.Sync()
		return nil
	}
	// The slider works in steps of half a unit of norm.
	slider := widgets.Slider(1, int(2*maxNorm), int(2*norm)).Done()
	var options []string
	stepIdx := 0
	for i, s := range ExploreSteps {
		options = append(options, fmt.Sprintf("%d steps", s))
		if s == steps {
			stepIdx = i
		}
	}
	menu := widgets.Select(options).SetDefault(stepIdx).Done()
	stop := widgets.Button("Stop").Done()
	normC, stepC, stopC := slider.Listen().LatestOnly(), menu.Listen().LatestOnly(), stop.Listen()
	defer normC.Close()
	defer stepC.Close()
	defer stopC.Close()
	id := "explore_" + gonbui.UniqueID()
	// A view is computed in the background; a newer request cancels it, so that after the user stops moving a
	// control only the last value's reconstruction is waited for.
	type result struct {
		html string
		err  error
		ctx  context.Context
	}
	results := make(chan result, 8)
	cancel := func() {}
	start := func(n float64, s int) {
		cancel()
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		go func() {
			html, err := view(ctx, n, s)
			results <- result{html, err, ctx}
		}()
	}
	n, s := norm, steps
	start(n, s)
	for {
		select {
		case <-stopC.C:
			cancel()
			gonbui.UpdateHTML(id, "")
			html, err := view(context.Background(), n, s)
			if err == nil {
				gonbui.DisplayHTML(html + "<p><i>Stopped.</i></p>")
			}
			gonbui.Sync()
			return err
		case x := <-normC.C:
			n = float64(x) / 2
			start(n, s)
		case x := <-stepC.C:
			s = ExploreSteps[min(max(x, 0), len(ExploreSteps)-1)]
			start(n, s)
		case r := <-results:
			switch {
			case r.ctx.Err() != nil: // superseded
			case r.err != nil:
				cancel()
				return r.err
			default:
				gonbui.UpdateHTML(id, r.html)
			}
		}
	}
}

// renderView is one view of the explorer as HTML: the noisy target, each model's reconstruction and the spectral
// control, each with its loss, its norm and its ϱ̄, and the time the view took.
func renderView(e *analysis.Explorer, v *analysis.View) (string, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range e.Target {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="cotrain-explore"><p><b>norm %g</b>, %d steps: %.2f s for %d models (the constraint ‖x‖ ≤ %g; `+
		`ϱ̄ measured against the undistorted image)</p><table><tr>`, v.Norm, v.Steps, v.Seconds, len(e.Models), v.Norm)
	cell := func(title, caption string, img []float64) error {
		p, err := grayPNG(img, e.Size, lo, hi)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, `<td style="text-align:center;vertical-align:top;padding:4px"><div style="font-weight:bold">%s</div>%s`+
			`<div style="font-size:90%%">%s</div></td>`, escape(title), imageTag(p, "128px"), caption)
		return nil
	}
	if err := cell("noisy target", fmt.Sprintf("‖x₀‖ %.1f", inputNorm(e.Target)), e.Target); err != nil {
		return "", err
	}
	for i, name := range e.Models {
		if err := cell(name, fmt.Sprintf("loss %.3g<br>‖x‖ %.2f, ϱ̄ %.3f", v.Loss[i], v.Achieved[i], v.Ratio[i]), v.Images[i]); err != nil {
			return "", err
		}
	}
	if err := cell("spectral control", fmt.Sprintf("of MTL-Monkey's<br>ϱ̄ %.3f", v.SpectralRatio), v.Spectral); err != nil {
		return "", err
	}
	b.WriteString("</tr></table></div>")
	return b.String(), nil
}

// inputNorm is the norm of a grey image in the network's 3-channel input (recon.InputNorm).
func inputNorm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(3 * s)
}

// grayPNG encodes a size×size image, lo…hi mapped to black…white (clipped).
func grayPNG(x []float64, size int, lo, hi float64) ([]byte, error) {
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i, v := range x {
		t := (v - lo) / math.Max(hi-lo, 1e-12)
		img.Pix[i] = uint8(math.Round(255 * math.Min(math.Max(t, 0), 1)))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
