package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
)

// chart is one chart of the analytics page, drawn as inline SVG on the server.
type chart struct {
	ID      string
	Kind    string // stacked (columns), line (points), rank (horizontal bars)
	Title   string
	Legend  []legend
	Columns []column
	Percent bool
}

type legend struct{ Class, Label string }

// column is one bar (or point): its label, total, segments and the list it counts.
type column struct {
	Label    string
	Href     string
	Total    float64
	Note     string
	Segments []segment
}

type segment struct {
	Class, Label string
	Value        float64
	Href         string
}

// Empty reports whether the chart has nothing to draw.
func (c chart) Empty() bool {
	for _, col := range c.Columns {
		if col.Total > 0 {
			return false
		}
	}
	return true
}

// Value formats a column's value for the data table.
func (c chart) Value(v float64) string {
	if c.Percent {
		return fmt.Sprintf("%.0f%%", v*100)
	}
	return fmt.Sprintf("%.0f", v)
}

// SVG draws the chart.
func (c chart) SVG() template.HTML {
	switch c.Kind {
	case "rank":
		return c.rank()
	case "line":
		return c.line()
	}
	return c.stacked()
}

const (
	chartW, chartH = 720, 220
	padL, padR     = 44, 12
	padT, padB     = 12, 30
)

func esc(s string) string { return html.EscapeString(s) }

// niceMax rounds a maximum up to a value with a round step for four grid lines.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	step := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= step {
			return 4 * m * mag
		}
	}
	return v
}

func (c chart) open(b *strings.Builder, h int) {
	fmt.Fprintf(b, `<svg class="chart chart-%s" data-chart="%s" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title" preserveAspectRatio="xMidYMid meet">`,
		esc(c.Kind), esc(c.ID), chartW, h, esc(c.ID))
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, esc(c.ID), esc(c.Title))
}

// grid draws horizontal grid lines and their values.
func (c chart) grid(b *strings.Builder, top float64) {
	plotH := float64(chartH - padT - padB)
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		y := float64(chartH-padB) - plotH*float64(i)/4
		fmt.Fprintf(b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y+4, esc(c.Value(v)))
	}
}

// xLabels writes at most about 12 labels under the columns.
func (c chart) xLabels(b *strings.Builder, x func(i int) float64) {
	n := len(c.Columns)
	every := max(1, (n+11)/12)
	for i, col := range c.Columns {
		if i%every == 0 {
			fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), chartH-padB+18, esc(col.Label))
		}
	}
}

func (c chart) stacked() template.HTML {
	var b strings.Builder
	c.open(&b, chartH)
	top := 0.0
	for _, col := range c.Columns {
		top = math.Max(top, col.Total)
	}
	top = niceMax(top)
	c.grid(&b, top)
	n := max(len(c.Columns), 1)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	slot := plotW / float64(n)
	w := math.Max(1, slot*0.72)
	x := func(i int) float64 { return float64(padL) + slot*float64(i) + slot/2 }
	for i, col := range c.Columns {
		fmt.Fprintf(&b, `<g class="bar" data-total="%g">`, col.Total)
		y := float64(chartH - padB)
		for _, s := range col.Segments {
			if s.Value <= 0 {
				continue
			}
			hgt := plotH * s.Value / top
			y -= hgt
			rect := fmt.Sprintf(`<rect class="seg seg-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %s</title></rect>`,
				esc(s.Class), x(i)-w/2, y, w, hgt, esc(col.Label), esc(s.Label), esc(c.Value(s.Value)))
			if s.Href != "" {
				rect = fmt.Sprintf(`<a href="%s">%s</a>`, esc(s.Href), rect)
			}
			b.WriteString(rect)
		}
		b.WriteString(`</g>`)
	}
	c.xLabels(&b, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c chart) line() template.HTML {
	var b strings.Builder
	c.open(&b, chartH)
	top := 0.0
	for _, col := range c.Columns {
		top = math.Max(top, col.Total)
	}
	if c.Percent {
		top = math.Min(1, niceMax(math.Max(top, 0.05)))
	} else {
		top = niceMax(top)
	}
	c.grid(&b, top)
	n := max(len(c.Columns), 1)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	slot := plotW / float64(n)
	x := func(i int) float64 { return float64(padL) + slot*float64(i) + slot/2 }
	y := func(v float64) float64 { return float64(chartH-padB) - plotH*v/top }
	var pts []string
	for i, col := range c.Columns {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(col.Total)))
	}
	fmt.Fprintf(&b, `<polyline class="line" points="%s"/>`, strings.Join(pts, " "))
	for i, col := range c.Columns {
		dot := fmt.Sprintf(`<circle class="point" cx="%.1f" cy="%.1f" r="4"><title>%s: %s (%s)</title></circle>`,
			x(i), y(col.Total), esc(col.Label), esc(c.Value(col.Total)), esc(col.Note))
		if col.Href != "" {
			dot = fmt.Sprintf(`<a href="%s">%s</a>`, esc(col.Href), dot)
		}
		b.WriteString(dot)
	}
	c.xLabels(&b, x)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (c chart) rank() template.HTML {
	const rowH, labelW = 30, 170
	h := max(len(c.Columns), 1)*rowH + 8
	var b strings.Builder
	c.open(&b, h)
	top := 0.0
	for _, col := range c.Columns {
		top = math.Max(top, col.Total)
	}
	if top == 0 {
		top = 1
	}
	plotW := float64(chartW - labelW - 70)
	for i, col := range c.Columns {
		y := float64(i*rowH + 4)
		w := math.Max(2, plotW*col.Total/top)
		fmt.Fprintf(&b, `<text class="rank-label" x="%d" y="%.1f" text-anchor="end">%s</text>`, labelW-8, y+19, esc(clip(24, col.Label)))
		rect := fmt.Sprintf(`<rect class="bar" x="%d" y="%.1f" width="%.1f" height="%d"><title>%s: %s</title></rect>`,
			labelW, y+4, w, rowH-10, esc(col.Label), esc(c.Value(col.Total)))
		if col.Href != "" {
			rect = fmt.Sprintf(`<a href="%s">%s</a>`, esc(col.Href), rect)
		}
		b.WriteString(rect)
		fmt.Fprintf(&b, `<text class="rank-value" x="%.1f" y="%.1f">%s</text>`, float64(labelW)+w+6, y+19, esc(c.Value(col.Total)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
