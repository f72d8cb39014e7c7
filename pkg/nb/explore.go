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
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"

	"github.com/robustvision/cotrain/pkg/analysis"
	"github.com/robustvision/cotrain/pkg/figures"
	"github.com/robustvision/cotrain/pkg/recon"
	"github.com/robustvision/cotrain/pkg/study"
)

// ExploreSteps are the step counts offered by Explore.
var ExploreSteps = []int{100, 300, 1000, 3000}

// Explore is Section 4's experiment to play with: one image reconstructed live from each of the explorer's models,
// and the spectral control of MTL-Monkey's, side by side, for the norm constraint on a slider and the number of
// steps on a menu. The slider is in the paper's units (its constraints 5 … 100 for 64×64 images), mapped to the
// image's size (recon.NormFor); it shows its value as soon as it moves, and "computing …" until that value's
// reconstructions are shown. They replace the previous ones in place; while the slider is dragged only its latest
// value is computed. Stop ends the cell and disables the controls. Without a browser (COTRAIN_HEADLESS, as when the
// notebooks are executed by the tests or nbconvert) it shows the first value and returns. paperNorm and steps are
// the first values; maxPaperNorm bounds the slider.
func Explore(e *analysis.Explorer, paperNorm, maxPaperNorm float64, steps int) error {
	view := func(ctx context.Context, n float64, s int) (string, error) {
		v, err := e.AtContext(ctx, recon.NormFor(n, e.Size), s)
		if err != nil {
			return "", err
		}
		return renderView(e, v, n)
	}
	if os.Getenv("COTRAIN_HEADLESS") != "" || !gonbui.IsNotebook {
		html, err := view(context.Background(), paperNorm, steps)
		if err != nil {
			return err
		}
		gonbui.DisplayHTML(html + `<p><i>This output was made without a browser (the notebook executed headless): ` +
			`run the cell to get the slider.</i></p>`)
		gonbui.Sync()
		return nil
	}
	id := "explore_" + gonbui.UniqueID()
	// The slider's label is an output block of its own, which the kernel replaces (gonbui.UpdateHTML) and the page's
	// script below writes into while the slider moves: one label, whoever wrote last.
	label := id + "_value"
	setLabel := func(text string) {
		gonbui.UpdateHTML(id+"_label", fmt.Sprintf(`<span class="cotrain-explore-value" id="%s" `+
			`style="display:inline-block;min-width:26em">%s</span>`, label, escape(text)))
	}
	setLabel(valueText(paperNorm, e.Size, ""))
	gonbui.DisplayHTML(fmt.Sprintf(`<div id="%s_controls"></div>`, id))
	slider := widgets.Slider(1, int(maxPaperNorm), int(paperNorm)).AppendTo(id + "_controls").Done()
	var options []string
	stepIdx := 0
	for i, s := range ExploreSteps {
		options = append(options, fmt.Sprintf("%d steps", s))
		if s == steps {
			stepIdx = i
		}
	}
	menu := widgets.Select(options).SetDefault(stepIdx).AppendTo(id + "_controls").Done()
	stop := widgets.Button("Stop").AppendTo(id + "_controls").Done()
	// The slider's value, shown while it moves (in the page: no round trip to the kernel), with "computing …".
	dom.TransientJavascript(fmt.Sprintf(`(() => {
  const s = document.getElementById(%q);
  if (!s) return;
  s.addEventListener("input", () => { const l = document.getElementById(%q); if (l) { l.textContent = %s; } });
})();`, slider.HtmlId(), label, jsValueText(e.Size)))
	normC, stepC, stopC := slider.Listen().LatestOnly(), menu.Listen().LatestOnly(), stop.Listen()
	defer normC.Close()
	defer stepC.Close()
	defer stopC.Close()
	gonbui.DisplayHTML(fmt.Sprintf(`<div id="%s"></div>`, id))
	// A view is computed in the background; a newer request cancels it, so that after the user stops moving a
	// control only the last value's reconstruction is waited for.
	type result struct {
		html string
		n    float64
		err  error
		ctx  context.Context
	}
	results := make(chan result, 8)
	cancel := func() {}
	start := func(n float64, s int) {
		cancel()
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		setLabel(valueText(n, e.Size, "computing …"))
		go func() {
			html, err := view(ctx, n, s)
			results <- result{html, n, err, ctx}
		}()
	}
	n, s := paperNorm, steps
	start(n, s)
	for {
		select {
		case <-stopC.C:
			cancel()
			dom.TransientJavascript(fmt.Sprintf(`for (const id of [%q, %q, %q]) { const c = document.getElementById(id); `+
				`if (c) { c.disabled = true; } }`, slider.HtmlId(), menu.HtmlId(), stop.HtmlId()))
			setLabel("Stopped: the controls no longer respond. Run the cell again to explore.")
			gonbui.Sync()
			return nil
		case x := <-normC.C:
			n = float64(x)
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
				// The label first: a reader (or the browser test) who sees the new view sees its label too.
				setLabel(valueText(r.n, e.Size, "shown below"))
				gonbui.UpdateHTML(id, r.html)
			}
		}
	}
}

// valueText is the slider's label: the norm in the paper's units and at the image's size, and a state.
func valueText(paperNorm float64, size int, state string) string {
	s := fmt.Sprintf("norm %g (the paper's units; %g at %d×%d)", paperNorm, recon.NormFor(paperNorm, size), size, size)
	if state != "" {
		s += " — " + state
	}
	return s
}

// jsValueText is valueText in the page's JavaScript, for the slider's value s.value while it moves.
func jsValueText(size int) string {
	return fmt.Sprintf("`norm ${s.value} (the paper's units; ${+(s.value*%d/64).toFixed(3)} at %d×%d) — computing …`",
		size, size, size)
}

// renderView is one view of the explorer as HTML: the undistorted image and the noisy target, each model's
// reconstruction (named with its optimiser) and the spectral control, each with its loss, its norm and its ϱ̄, each
// image stretched to its own grey range as in Fig. 5, a bar that draws the target's norm and the bound on one scale,
// and the time the view took.
func renderView(e *analysis.Explorer, v *analysis.View, paperNorm float64) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="cotrain-explore"><p><b>norm %g</b> (the paper's units: the bound ‖x‖ ≤ %g at %d×%d), `+
		`%d steps: %.2f s for %d models</p>`, paperNorm, v.Norm, e.Size, e.Size, v.Steps, v.Seconds, len(e.Models))
	b.WriteString(normBar(inputNorm(e.Target), v.Norm))
	b.WriteString(`<table><tr>`)
	cell := func(title, caption string, img []float64) error {
		p, err := grayPNG(img, e.Size)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, `<td style="text-align:center;vertical-align:top;padding:4px"><div style="font-weight:bold">%s</div>%s`+
			`<div style="font-size:90%%">%s</div></td>`, escape(title), tileTag(p, "144px"), caption)
		return nil
	}
	if err := cell("undistorted image", "(not reconstructed)", e.Clean); err != nil {
		return "", err
	}
	if err := cell("target: with noise", fmt.Sprintf("‖x₀‖ %.1f", inputNorm(e.Target)), e.Target); err != nil {
		return "", err
	}
	for i, name := range e.Models {
		caption := fmt.Sprintf("%s<br>loss %.3g, ‖x‖ %.2f<br>ϱ̄ %.3f", escape(e.Optimizers[i]), v.Loss[i], v.Achieved[i], v.Ratio[i])
		if err := cell(name, caption, v.Images[i]); err != nil {
			return "", err
		}
	}
	if err := cell("spectral control", fmt.Sprintf("of MTL-Monkey's<br>ϱ̄ %.3f", v.SpectralRatio), v.Spectral); err != nil {
		return "", err
	}
	b.WriteString(`</tr></table><p style="font-size:90%">Each image is stretched to its own grey range (mid-grey is 0, ` +
		`the extreme is its largest value; as in Fig. 5): compare patterns, not brightness. The optimiser under each ` +
		`name is the paper's for that model (Adam for the Baseline and the Oracle, SGD for the multi-task models), so ` +
		`part of the difference between rows is the optimiser's.</p></div>`)
	return b.String(), nil
}

// normBar draws the target's norm and the bound on one scale.
func normBar(target, bound float64) string {
	const width = 320.0
	scale := width / math.Max(target, bound)
	return fmt.Sprintf(`<svg width="%.0f" height="34" style="display:block"><rect x="0" y="4" width="%.1f" height="10" `+
		`fill="#bbb"/><rect x="%.1f" y="0" width="2" height="18" fill="#c00"/><text x="0" y="30" font-size="11">grey: `+
		`‖x₀‖ = %.1f (the target's norm); red: the bound %.3g</text></svg>`, width+2, target*scale, bound*scale-1, target, bound)
}

// inputNorm is the norm of a grey image in the network's 3-channel input (recon.InputNorm).
func inputNorm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(3 * s)
}

// grayPNG encodes a size×size image stretched to its own symmetric range: −m … m to black … white, m its largest
// absolute value (the grids of pkg/figures do the same).
func grayPNG(x []float64, size int) ([]byte, error) {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i, v := range x {
		t := 0.5 + v/(2*math.Max(m, 1e-12))
		img.Pix[i] = uint8(math.Round(255 * math.Min(math.Max(t, 0), 1)))
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Reconstruct is a reconstruction of one's own: the first seed of the condition model (e.g. condition.MTLMonkey)
// reconstructs the Section 4 analysis's first image (with Gaussian noise, as Fig. 5's targets) from its conv3_1
// activations under each of paperNorms — in the paper's units, for 64×64 images, mapped to the scale's image size
// (recon.NormFor) — in steps gradient steps with the model's own setting (the paper's optimiser for it), and shows the
// reconstructions in a row, each stretched to its own grey range. The runner must be able to load models
// (nb.NewRunner makes one that can).
func Reconstruct(r *study.Runner, model string, paperNorms []float64, steps int) error {
	a, err := r.LoadAnalysis()
	if err != nil {
		return err
	}
	net, err := r.LoadModel(fmt.Sprintf("%s/seed%d", model, r.Scale.Seeds[0]))
	if err != nil {
		return err
	}
	cfg := r.ReconSetting(model)
	cfg.Steps = steps
	var problems []recon.Problem
	var norms []float64
	target := make([]float32, len(a.Targets[0]))
	for i, v := range a.Targets[0] {
		target[i] = float32(v)
	}
	for _, pn := range paperNorms {
		n := recon.NormFor(pn, a.Size)
		norms = append(norms, n)
		problems = append(problems, recon.Problem{Target: target, Norm: n})
	}
	out, err := recon.Reconstruct(net, problems, cfg, nil)
	if err != nil {
		return err
	}
	row := figures.ReconstructionRow{Label: fmt.Sprintf("%s (%s lr %g)", model, cfg.Optimizer, cfg.LearningRate)}
	for _, img := range out.Images {
		x := make([]float64, len(img))
		for i, v := range img {
			x[i] = float64(v)
		}
		row.Images = append(row.Images, x)
	}
	fig, err := figures.ReconstructionGrid(fmt.Sprintf("%s: the paper's norms %v (here %v), %d steps", model, paperNorms,
		norms, steps), a.Targets[0], a.Size, norms, []figures.ReconstructionRow{row})
	return Show(fig, err)
}
