package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

var palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
}

// writeChart draws two panels: throughput against concurrency (log scale)
// for every load, and rename time against tenant size (log-log).
func writeChart(path string, r report) error {
	const w, h = 1200, 520
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)

	var names []string
	series := map[string][][2]float64{}
	for _, l := range r.Loads {
		if _, ok := series[l.Name]; !ok {
			names = append(names, l.Name)
		}
		series[l.Name] = append(series[l.Name], [2]float64{float64(l.Concurrency), l.Throughput()})
	}
	left := panel{img: img, x0: 70, y0: 40, x1: 580, y1: 440, title: "throughput (ops/s, log) vs concurrency (log)"}
	for i, n := range names {
		left.line(series[n], palette[i%len(palette)])
	}
	left.frame()
	for i, n := range names {
		label(img, 80, 462+14*(i/2), n, palette[i%len(palette)], i%2*260)
	}

	var pts [][2]float64
	for _, rn := range r.Renames {
		pts = append(pts, [2]float64{float64(rn.Docs), float64(rn.Time.Microseconds()) / 1000})
	}
	right := panel{img: img, x0: 680, y0: 40, x1: 1170, y1: 440, title: "rename time (ms, log) vs tenant documents (log)"}
	right.line(pts, palette[0])
	right.frame()
	return savePNG(path, img)
}

// chartLine is one named series.
type chartLine struct {
	name string
	pts  [][2]float64
}

// writeLines draws lines on one log-log panel with a legend.
func writeLines(path, title string, lines []chartLine) error {
	const w, h = 900, 560
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	p := panel{img: img, x0: 70, y0: 40, x1: 860, y1: 460, title: title}
	for i, l := range lines {
		p.line(l.pts, palette[i%len(palette)])
	}
	p.frame()
	for i, l := range lines {
		label(img, 80, 490+14*(i/3), l.name, palette[i%len(palette)], i%3*260)
	}
	return savePNG(path, img)
}

func savePNG(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.Create(path) //nolint:gosec // the operator's -chart path
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

type panel struct {
	img                    *image.RGBA
	x0, y0, x1, y1         int
	title                  string
	minX, maxX, minY, maxY float64
	lines                  []func()
	points                 [][2]float64
}

// line queues a series; frame fixes the scales and draws everything.
func (p *panel) line(pts [][2]float64, c color.RGBA) {
	p.points = append(p.points, pts...)
	p.lines = append(p.lines, func() {
		for i := range pts {
			x, y := p.px(pts[i])
			dot(p.img, x, y, c)
			if i > 0 {
				xa, ya := p.px(pts[i-1])
				segment(p.img, xa, ya, x, y, c)
			}
		}
	})
}

func (p *panel) frame() {
	p.minX, p.minY, p.maxX, p.maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, pt := range p.points {
		if pt[0] > 0 && pt[1] > 0 {
			p.minX, p.maxX = math.Min(p.minX, pt[0]), math.Max(p.maxX, pt[0])
			p.minY, p.maxY = math.Min(p.minY, pt[1]), math.Max(p.maxY, pt[1])
		}
	}
	if math.IsInf(p.minX, 0) {
		return
	}
	p.minX, p.maxX = math.Pow(10, math.Floor(math.Log10(p.minX))), math.Pow(10, math.Ceil(math.Log10(p.maxX)+1e-9))
	p.minY, p.maxY = math.Pow(10, math.Floor(math.Log10(p.minY))), math.Pow(10, math.Ceil(math.Log10(p.maxY)+1e-9))
	gray := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	for v := p.minY; v <= p.maxY*1.0001; v *= 10 {
		_, y := p.px([2]float64{p.minX, v})
		segment(p.img, p.x0, y, p.x1, y, gray)
		label(p.img, p.x0-60, y+4, short(v), color.RGBA{0x33, 0x33, 0x33, 0xff}, 0)
	}
	for v := p.minX; v <= p.maxX*1.0001; v *= 10 {
		x, _ := p.px([2]float64{v, p.minY})
		segment(p.img, x, p.y0, x, p.y1, gray)
		label(p.img, x-10, p.y1+16, short(v), color.RGBA{0x33, 0x33, 0x33, 0xff}, 0)
	}
	black := color.RGBA{0, 0, 0, 0xff}
	segment(p.img, p.x0, p.y1, p.x1, p.y1, black)
	segment(p.img, p.x0, p.y0, p.x0, p.y1, black)
	label(p.img, p.x0, p.y0-14, p.title, black, 0)
	for _, l := range p.lines {
		l()
	}
}

func (p *panel) px(pt [2]float64) (int, int) {
	fx := (math.Log10(pt[0]) - math.Log10(p.minX)) / (math.Log10(p.maxX) - math.Log10(p.minX))
	fy := (math.Log10(pt[1]) - math.Log10(p.minY)) / (math.Log10(p.maxY) - math.Log10(p.minY))
	return p.x0 + int(fx*float64(p.x1-p.x0)), p.y1 - int(fy*float64(p.y1-p.y0))
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", v)
	}
}

func dot(img *image.RGBA, x, y int, c color.RGBA) {
	for dx := -3; dx <= 3; dx++ {
		for dy := -3; dy <= 3; dy++ {
			if dx*dx+dy*dy <= 9 {
				img.SetRGBA(x+dx, y+dy, c)
			}
		}
	}
}

func segment(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	n := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= n; i++ {
		x := x0 + (x1-x0)*i/n
		y := y0 + (y1-y0)*i/n
		img.SetRGBA(x, y, c)
		img.SetRGBA(x, y+1, c)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func label(img *image.RGBA, x, y int, s string, c color.RGBA, dx int) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x+dx, y)}
	d.DrawString(s)
}
