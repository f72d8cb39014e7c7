package figures

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/robustvision/cotrain/pkg/condition"
	"github.com/robustvision/cotrain/pkg/corrupt"
	"github.com/robustvision/cotrain/pkg/eval"
)

// section3Models are the models of Fig. 3 compared with the Baseline: the evaluated conditions of the table (pkg/condition), in
// its order (the paper's), but the Baseline.
var section3Models = condition.Names(condition.Where(func(c condition.Condition) bool {
	return c.Evaluated && c.Name != condition.Baseline
}))

// sweptConditions are the conditions of the batch-ratio sweep (Fig. 3C).
var sweptConditions = condition.Names(condition.Where(func(c condition.Condition) bool { return c.Swept }))

func stand(res *eval.Robustness) string {
	return fmt.Sprintf("%s scale, Fashion-MNIST + SIMULATED V1, %s", res.Scale, res.Preset)
}

// accuracyCurve is a model's accuracy per severity on a corruption, averaged over its main seeds.
func accuracyCurve(res *eval.Robustness, model, corruption string) plotter.XYs {
	sum, n := map[int]float64{}, map[int]int{}
	for _, a := range res.Accuracies {
		if a.Model == model && a.Ratio == "" && a.Corruption == corruption && a.Severity > 0 {
			sum[a.Severity] += 100 * a.Accuracy
			n[a.Severity]++
		}
	}
	var pts plotter.XYs
	for s := 1; s <= 5; s++ {
		if n[s] > 0 {
			pts = append(pts, plotter.XY{X: float64(s), Y: sum[s] / float64(n[s])})
		}
	}
	return pts
}

// severityPanel is one corruption's accuracy per severity for each model; legend, if not nil, gets an entry per
// model.
func severityPanel(res *eval.Robustness, corruption string, models []string, legend *plot.Legend) (*plot.Plot, error) {
	p := newPlot()
	p.Title.Text = corruption
	p.X.Label.Text, p.Y.Label.Text = "severity", "accuracy (%)"
	for i, m := range models {
		pts := accuracyCurve(res, m, corruption)
		if len(pts) == 0 {
			continue
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		c := modelColor(m, i)
		l.Color, s.Color, s.Shape = c, c, draw.CircleGlyph{}
		p.Add(l, s)
		if legend != nil {
			legend.Add(m, l, s)
		}
	}
	p.X.Min, p.X.Max = 0.8, 5.2
	return p, nil
}

// Fig2 shows, for MTL-Monkey and the Baseline, accuracy against severity on MTL-Monkey's best, median and worst
// corruption by robustness score (the paper: pixelate, impulse noise, contrast).
func Fig2(res *eval.Robustness) (Figure, error) {
	per := res.PerCorruption[condition.MTLMonkey]
	var names []string
	for _, c := range res.Corruptions {
		if _, ok := per[c]; ok {
			names = append(names, c)
		}
	}
	if len(names) == 0 {
		return Figure{}, fmt.Errorf("fig 2: no MTL-Monkey scores")
	}
	sort.Slice(names, func(a, b int) bool { return per[names[a]].Mean > per[names[b]].Mean })
	picks := []struct{ label, name string }{{"best", names[0]}, {"median", names[len(names)/2]}, {"worst", names[len(names)-1]}}
	var row []*plot.Plot
	legend := plot.NewLegend()
	for i, pk := range picks {
		var l *plot.Legend
		if i == 0 {
			l = &legend
		}
		p, err := severityPanel(res, pk.name, []string{condition.Baseline, condition.MTLMonkey}, l)
		if err != nil {
			return Figure{}, err
		}
		p.Title.Text = fmt.Sprintf("%s: %s (score %.0f %%)", pk.label, pk.name, per[pk.name].Mean)
		row = append(row, p)
	}
	row[0].Title.Text = "Fig. 2 — " + row[0].Title.Text
	return Figure{Tiles: [][]*plot.Plot{row}, Legend: &legend, Width: 29 * vg.Centimeter, Height: 9 * vg.Centimeter}, nil
}

// barsWithErrors draws one group of bars per model, with whiskers at ± the SD over seeds where there are several,
// and the Baseline's 100 % dashed; the y axis reaches above the highest whisker.
func barsWithErrors(p *plot.Plot, labels []string, groups [][]eval.Score, names []string) error {
	w := vg.Points(10)
	top, seeds, fewest := 100.0, 0, math.MaxInt
	for i, g := range groups {
		vals := make(plotter.Values, len(g))
		errs := make(plotter.YErrors, len(g))
		var pts plotter.XYs
		var whiskers plotter.YErrors
		shift := 0.8 / float64(len(groups)) * (float64(i) - float64(len(groups)-1)/2) // in data units
		for j, s := range g {
			vals[j] = s.Mean
			if math.IsNaN(vals[j]) {
				vals[j] = 0
			}
			seeds, fewest = max(seeds, s.Seeds), min(fewest, s.Seeds)
			top = math.Max(top, vals[j])
			if !math.IsNaN(s.SD) {
				errs[j].Low, errs[j].High = s.SD, s.SD
				pts = append(pts, plotter.XY{X: float64(j) + shift, Y: vals[j]})
				whiskers = append(whiskers, errs[j])
				top = math.Max(top, vals[j]+s.SD)
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = modelColor(names[i], i)
		b.LineStyle.Width = 0
		b.XMin = shift
		p.Add(b)
		p.Legend.Add(names[i], b)
		if err := addWhiskers(p, pts, whiskers); err != nil {
			return err
		}
	}
	p.NominalX(labels...)
	base, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 100}, {X: float64(len(labels)) - 0.5, Y: 100}})
	base.Dashes, base.Color = []vg.Length{vg.Points(3), vg.Points(2)}, color.Gray{Y: 0x60}
	p.Add(base)
	p.Legend.Add("Baseline (100 %)", base)
	p.Y.Min, p.Y.Max = 0, top*1.06
	p.Y.Label.Text += "\n" + barNote(fewest, seeds) // two lines: one would outrun the axis
	return nil
}

// addWhiskers draws error bars at the points, if any.
func addWhiskers(p *plot.Plot, pts plotter.XYs, whiskers plotter.YErrors) error {
	if len(pts) == 0 {
		return nil
	}
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{pts, whiskers})
	if err != nil {
		return err
	}
	p.Add(eb)
	return nil
}

// barNote says what a bar chart's bars and whiskers are: the second line of its y-axis label.
func barNote(fewest, most int) string {
	switch {
	case most <= 1:
		return "(one seed)"
	case fewest < most:
		return fmt.Sprintf("mean ± SD over %d–%d seeds", max(fewest, 1), most)
	}
	return fmt.Sprintf("mean ± SD over %d seeds", most)
}

// Fig3A is the robustness score per corruption category (noise, blur, weather, digital), Baseline = 100 %.
func Fig3A(res *eval.Robustness) (Figure, error) {
	p := newPlot()
	p.Title.Text = "Fig. 3A — robustness per category (" + stand(res) + ")"
	p.Y.Label.Text = "robustness score (% of Baseline)"
	cats := []string{string(corrupt.Noise), string(corrupt.Blur), string(corrupt.Weather), string(corrupt.Digital)}
	var groups [][]eval.Score
	var names []string
	for _, m := range section3Models {
		pc, ok := res.PerCategory[m]
		if !ok {
			continue
		}
		var g []eval.Score
		for _, c := range cats {
			g = append(g, pc[c])
		}
		groups, names = append(groups, g), append(names, m)
	}
	if len(groups) == 0 {
		return Figure{}, fmt.Errorf("fig 3A: no scores")
	}
	if err := barsWithErrors(p, cats, groups, names); err != nil {
		return Figure{}, err
	}
	return Figure{Plot: p, Width: 22 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// Fig3B is the total robustness score (the mean over the 14 corruptions) per model, with the spread over seeds.
func Fig3B(res *eval.Robustness) (Figure, error) {
	p := newPlot()
	p.Title.Text = "Fig. 3B — total robustness (" + stand(res) + ")"
	p.Y.Label.Text = "robustness score (% of Baseline)"
	var labels []string
	var pts plotter.XYs
	var whiskers plotter.YErrors
	top, seeds, fewest := 100.0, 0, math.MaxInt
	for _, m := range section3Models {
		s, ok := res.Total[m]
		if !ok {
			continue
		}
		i := len(labels)
		labels = append(labels, m)
		b, err := plotter.NewBarChart(plotter.Values{s.Mean}, vg.Points(22))
		if err != nil {
			return Figure{}, err
		}
		b.XMin = float64(i)
		b.Color, b.LineStyle.Width = modelColor(m, i), 0
		p.Add(b)
		top, seeds, fewest = math.Max(top, s.Mean), max(seeds, s.Seeds), min(fewest, s.Seeds)
		if !math.IsNaN(s.SD) {
			pts = append(pts, plotter.XY{X: float64(i), Y: s.Mean})
			whiskers = append(whiskers, struct{ Low, High float64 }{s.SD, s.SD})
			top = math.Max(top, s.Mean+s.SD)
		}
	}
	if len(labels) == 0 {
		return Figure{}, fmt.Errorf("fig 3B: no scores")
	}
	if err := addWhiskers(p, pts, whiskers); err != nil {
		return Figure{}, err
	}
	p.NominalX(labels...)
	base, _ := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 100}, {X: float64(len(labels)) - 0.5, Y: 100}})
	base.Dashes, base.Color = []vg.Length{vg.Points(3), vg.Points(2)}, color.Gray{Y: 0x60}
	p.Add(base)
	p.Y.Min, p.Y.Max = 0, top*1.06
	p.Y.Label.Text += "\n" + barNote(fewest, seeds) // two lines: one would outrun the axis
	p.Title.Text += "; dashed: Baseline"
	return Figure{Plot: p, Width: 20 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// Fig3C plots, for the batch-ratio sweep of each condition, neural predictivity (FEVe) against total robustness,
// each run shaded by its clean accuracy (light = low, dark = high, over both panels), with the regression's FEVe
// slope drawn at the condition's mean clean accuracy; the panel titles give the slope, its p-value and the runs.
func Fig3C(res *eval.Robustness) (Figure, error) {
	var row []*plot.Plot
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pts := range res.Sweep {
		for _, p := range pts {
			lo, hi = math.Min(lo, p.CleanAcc), math.Max(hi, p.CleanAcc)
		}
	}
	shaded := func(base color.RGBA, acc float64) color.Color {
		f := 0.5
		if hi > lo {
			f = (acc - lo) / (hi - lo)
		}
		shade := func(c uint8) uint8 { return uint8(255 - (255-float64(c))*(0.5+0.5*f)) } // the lightest still visible (Check)
		return color.RGBA{shade(base.R), shade(base.G), shade(base.B), 0xff}
	}
	legend := plot.NewLegend()
	for _, cond := range sweptConditions {
		pts := res.Sweep[cond]
		base := modelColor(cond, 0).(color.RGBA)
		p := newPlot()
		p.Title.Text = "Fig. 3C — " + cond
		p.X.Label.Text, p.Y.Label.Text = "FEVe (reliable neurons, SIMULATED V1)", "robustness score (%)"
		if len(pts) == 0 {
			row = append(row, p)
			continue
		}
		xy := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xy[i] = plotter.XY{X: pt.FEVe, Y: pt.Robustness}
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return Figure{}, err
		}
		s.GlyphStyleFunc = func(i int) draw.GlyphStyle {
			return draw.GlyphStyle{Color: shaded(base, pts[i].CleanAcc), Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
		}
		p.Add(s)
		dark, light := s.GlyphStyle, s.GlyphStyle
		dark.Color, light.Color = shaded(base, hi), shaded(base, lo)
		darkS, lightS := &plotter.Scatter{GlyphStyle: dark}, &plotter.Scatter{GlyphStyle: light}
		legend.Add(fmt.Sprintf("%s run, clean acc. %.0f %%", cond, hi), darkS)
		legend.Add(fmt.Sprintf("%s run, clean acc. %.0f %%", cond, lo), lightS)
		if reg := res.Regression[cond]; reg != nil {
			var meanAcc float64
			minX, maxX := math.Inf(1), math.Inf(-1)
			for _, pt := range pts {
				meanAcc += pt.CleanAcc / float64(len(pts))
				minX, maxX = math.Min(minX, pt.FEVe), math.Max(maxX, pt.FEVe)
			}
			f := func(x float64) float64 { return reg.Coef[0] + reg.Coef[1]*meanAcc + reg.Coef[2]*x }
			l, _ := plotter.NewLine(plotter.XYs{{X: minX, Y: f(minX)}, {X: maxX, Y: f(maxX)}})
			l.Color = base
			p.Add(l)
			p.Title.Text += fmt.Sprintf(": b = %.0f (p = %.2g, n = %d)", reg.Coef[2], reg.P[2], reg.N)
			legend.Add(fmt.Sprintf("%s fit (mean clean acc.)", cond), l)
		} else if note := res.RegressionNote[cond]; note != "" {
			p.Title.Text += " (" + note + ")"
		}
		row = append(row, p)
	}
	return Figure{Tiles: [][]*plot.Plot{row}, Legend: &legend, Width: 30 * vg.Centimeter, Height: 10 * vg.Centimeter}, nil
}

// Fig8 is accuracy against severity for every corruption (glass blur included) and model.
func Fig8(res *eval.Robustness) (Figure, error) {
	models := append([]string{condition.Baseline}, section3Models...)
	var grid [][]*plot.Plot
	var row []*plot.Plot
	legend := plot.NewLegend()
	for i, c := range corrupt.Names() {
		var l *plot.Legend
		if i == 0 {
			l = &legend
		}
		p, err := severityPanel(res, c, models, l)
		if err != nil {
			return Figure{}, err
		}
		row = append(row, p)
		if len(row) == 5 {
			grid, row = append(grid, row), nil
		}
	}
	if len(row) > 0 {
		grid = append(grid, row)
	}
	grid[0][0].Title.Text = "Fig. 8 — " + grid[0][0].Title.Text
	return Figure{Tiles: grid, Legend: &legend, Width: 36 * vg.Centimeter, Height: 24 * vg.Centimeter}, nil
}

// paperNumber is one of the paper's numbers of a condition (Table 2's or Table 3's, from the condition table), or "—".
func paperNumber(model string, of func(condition.Condition) string) string {
	if c, ok := condition.ByName(model); ok && of(c) != "" {
		return of(c)
	}
	return "—"
}

func pct(s eval.Score) string {
	switch {
	case math.IsNaN(s.Mean):
		return "—"
	case math.IsNaN(s.SD):
		return fmt.Sprintf("%.2f", s.Mean)
	default:
		return fmt.Sprintf("%.2f ± %.2f", s.Mean, s.SD)
	}
}

// Table2 is the clean test accuracy of every model (mean ± sd over seeds, and the mean bootstrap error bar) beside
// the paper's Tiny ImageNet numbers.
func Table2(res *eval.Robustness) Table {
	t := Table{Caption: "Table 2 — clean test accuracy (%), ours (" + stand(res) + ") and the paper's (Tiny ImageNet, 5 seeds)",
		Header: []string{"model", "ours", "bootstrap sd", "paper"}}
	for _, m := range append([]string{condition.Baseline}, section3Models...) {
		s, ok := res.Clean[m]
		if !ok {
			continue
		}
		paper := paperNumber(m, func(c condition.Condition) string { return c.PaperClean })
		t.Rows = append(t.Rows, []string{m, pct(s), fmt.Sprintf("%.2f", res.BootstrapSD[m]), paper})
	}
	return t
}

// Table3 is the robustness of the multi-task variants whose targets come from the monkey (pkg/condition): on recorded
// responses, on predicted ones (MTL-Monkey), on shuffled ones, and — possible only with a simulated monkey — on
// noise-free responses.
func Table3(res *eval.Robustness) Table {
	t := Table{Caption: "Table 3 — total robustness score (% of Baseline) of the MTL variants (" + stand(res) + ")",
		Header: []string{"neural targets", "model", "ours", "paper"}}
	for _, c := range condition.Where(func(c condition.Condition) bool {
		t, ok := c.TargetsOf()
		return ok && t.From != condition.OracleReadout
	}) {
		s, ok := res.Total[c.Name]
		if !ok {
			continue
		}
		targets, _ := c.TargetsOf()
		what := targets.About
		if c.Shuffle {
			what += ", shuffled across images"
		}
		t.Rows = append(t.Rows, []string{what, c.Name, pct(s),
			paperNumber(c.Name, func(c condition.Condition) string { return c.PaperRobustness })})
	}
	return t
}

// RegressionTable lists the two-factor regression robustness ~ clean accuracy + FEVe for each condition, with the
// paper's FEVe slopes (b_monkey = 54.72, b_shuffled = 0.26).
func RegressionTable(res *eval.Robustness) Table {
	t := Table{Caption: "Robustness ~ clean accuracy + FEVe over the batch-ratio sweep (" + stand(res) + ")",
		Header: []string{"condition", "n", "coefficient", "estimate", "SE", "t", "p", "paper's FEVe slope"}}
	paper := map[string]string{condition.MTLMonkey: "54.72 (p < 1e-4)", condition.MTLShuffled: "0.26 (p = 0.034)"}
	for _, cond := range sweptConditions {
		reg := res.Regression[cond]
		if reg == nil {
			t.Rows = append(t.Rows, []string{cond, fmt.Sprint(len(res.Sweep[cond])), res.RegressionNote[cond], "", "", "", "", paper[cond]})
			continue
		}
		for j, name := range reg.Names {
			p := ""
			if j == 2 {
				p = paper[cond]
			}
			t.Rows = append(t.Rows, []string{cond, fmt.Sprint(reg.N), name, fmt.Sprintf("%.3f", reg.Coef[j]),
				fmt.Sprintf("%.3f", reg.SE[j]), fmt.Sprintf("%.2f", reg.T[j]), fmt.Sprintf("%.3g", reg.P[j]), p})
		}
	}
	return t
}
