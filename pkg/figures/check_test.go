package figures

import (
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// linePlot is a plot of a line through the whole data area, with a legend entry.
func linePlot(t *testing.T, label string) *plot.Plot {
	t.Helper()
	p := newPlot()
	p.Title.Text = "a line"
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 2, Y: 0}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	p.Legend.Add(label, l)
	return p
}

// A legend goes beside the axes, so a line through the whole data area stays uncovered; a legend too wide for its
// figure, text too small to read, and gonum/plot's own in-axes legend are caught.
func TestCheck(t *testing.T) {
	ok := Figure{Plot: linePlot(t, "the line"), Width: 16 * vg.Centimeter, Height: 10 * vg.Centimeter}
	if err := ok.Check(); err != nil {
		t.Errorf("a plot with its legend beside the axes: %v", err)
	}
	grid := Figure{Tiles: [][]*plot.Plot{{linePlot(t, "one"), newPlot()}}, Width: 24 * vg.Centimeter, Height: 9 * vg.Centimeter}
	shared := plot.NewLegend()
	grid.Legend = &shared
	l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	shared.Add("shared encoding", l)
	if err := grid.Check(); err != nil {
		t.Errorf("panels with a figure legend: %v", err)
	}

	wide := Figure{Plot: linePlot(t, strings.Repeat("a very long legend entry ", 8)), Width: 16 * vg.Centimeter,
		Height: 10 * vg.Centimeter}
	if err := wide.Check(); err == nil {
		t.Error("a legend wider than the figure passed")
	}
	long := Figure{Tiles: [][]*plot.Plot{{linePlot(t, "one"), linePlot(t, "two")}}, Width: 16 * vg.Centimeter,
		Height: 9 * vg.Centimeter}
	long.Tiles[0][0].Title.Text = strings.Repeat("a long title ", 6)
	if err := long.Check(); err == nil || !strings.Contains(err.Error(), "title") {
		t.Errorf("a title wider than its panel: %v", err)
	}
	// The axes' and legends' fonts grow with the figure's width; text that a plotter draws does not.
	huge := Figure{Plot: linePlot(t, "the line"), Width: 60 * vg.Centimeter, Height: 10 * vg.Centimeter}
	if err := huge.Check(); err != nil {
		t.Errorf("a 60 cm figure shown 960 px wide: %v", err)
	}
	small := Figure{Plot: linePlot(t, "the line"), Width: 16 * vg.Centimeter, Height: 10 * vg.Centimeter}
	labels, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 1, Y: 0.5}}, Labels: []string{"note"}})
	if err != nil {
		t.Fatal(err)
	}
	labels.TextStyle[0].Font.Size = vg.Points(6)
	small.Plot.Add(labels)
	if err := small.Check(); err == nil || !strings.Contains(err.Error(), `"note"`) {
		t.Errorf("a 6 pt label: %v", err)
	}
	// gonum/plot's own layout draws the legend inside the axes, over the line.
	p := linePlot(t, "the line")
	inside := func(dc draw.Canvas, legends bool) layout {
		var l layout
		if !legends {
			p.Legend = plot.NewLegend()
		}
		p.Draw(dc)
		l.add(p, dc)
		return l
	}
	if err := (Figure{Plot: p, Width: 16 * vg.Centimeter, Height: 10 * vg.Centimeter}).check(inside); err == nil ||
		!strings.Contains(err.Error(), "covers") {
		t.Errorf("a legend inside the axes: %v", err)
	}
}
