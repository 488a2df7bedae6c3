package admin

import (
	"bufio"
	"math"
	"strconv"
	"strings"
)

// promWriter writes the Prometheus text exposition format (0.0.4). It keeps
// the first write error and ignores the writes after it.
type promWriter struct {
	w   *bufio.Writer
	err error
}

// family writes the HELP and TYPE lines of a metric family.
func (p *promWriter) family(name, typ, help string) {
	p.str("# HELP ")
	p.str(name)
	p.str(" ")
	p.str(escapeHelp(help))
	p.str("\n# TYPE ")
	p.str(name)
	p.str(" ")
	p.str(typ)
	p.str("\n")
}

// sample writes one sample; labels are name, value pairs.
func (p *promWriter) sample(name string, v float64, labels ...string) {
	p.str(name)
	if len(labels) > 0 {
		p.str("{")
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				p.str(",")
			}
			p.str(labels[i])
			p.str(`="`)
			p.str(escapeLabel(labels[i+1]))
			p.str(`"`)
		}
		p.str("}")
	}
	p.str(" ")
	p.str(formatValue(v))
	p.str("\n")
}

// counter writes a family of one unlabelled counter.
func (p *promWriter) counter(name, help string, v uint64) {
	p.family(name, "counter", help)
	p.sample(name, float64(v))
}

// gauge writes a family of one unlabelled gauge.
func (p *promWriter) gauge(name, help string, v float64) {
	p.family(name, "gauge", help)
	p.sample(name, v)
}

func (p *promWriter) str(s string) {
	if p.err == nil {
		_, p.err = p.w.WriteString(s)
	}
}

func (p *promWriter) flush() error {
	if p.err == nil {
		p.err = p.w.Flush()
	}
	return p.err
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.FormatInt(int64(v), 10) // counters: no exponent
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
