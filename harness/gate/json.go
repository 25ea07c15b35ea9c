package gate

import (
	"encoding/json"
	"math"
)

// comparisonJSON is a Comparison as JSON, which has no ±Inf or NaN: null
// stands for them (an unbounded Hi or MDE is +Inf, anything else NaN).
type comparisonJSON struct {
	Figure   string   `json:"figure"`
	Model    string   `json:"model"`
	Stat     Stat     `json:"stat"`
	NBase    int      `json:"nBase"`
	NNew     int      `json:"nNew"`
	Base     *float64 `json:"base"`
	New      *float64 `json:"new"`
	Change   *float64 `json:"change"`
	Lo       *float64 `json:"lo"`
	Hi       *float64 `json:"hi"`
	P        *float64 `json:"p"`
	PHolm    *float64 `json:"pHolm"`
	MDE      *float64 `json:"mde"`
	InFamily bool     `json:"inFamily"`
	Verdict  Verdict  `json:"verdict"`
	Why      string   `json:"why,omitempty"`
}

func finite(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return &x
}

func orElse(p *float64, v float64) float64 {
	if p == nil {
		return v
	}
	return *p
}

// MarshalJSON writes non-finite numbers as null.
func (c Comparison) MarshalJSON() ([]byte, error) {
	return json.Marshal(comparisonJSON{Figure: c.Figure, Model: c.Model, Stat: c.Stat, NBase: c.NBase, NNew: c.NNew,
		Base: finite(c.Base), New: finite(c.New), Change: finite(c.Change), Lo: finite(c.Lo), Hi: finite(c.Hi),
		P: finite(c.P), PHolm: finite(c.PHolm), MDE: finite(c.MDE), InFamily: c.InFamily, Verdict: c.Verdict, Why: c.Why})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Comparison) UnmarshalJSON(b []byte) error {
	var j comparisonJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	nan, inf := math.NaN(), math.Inf(1)
	mdeNull := inf
	if j.Stat != Centre {
		mdeNull = nan
	}
	hiNull := nan
	if j.Change != nil {
		hiNull = inf
	}
	*c = Comparison{Figure: j.Figure, Model: j.Model, Stat: j.Stat, NBase: j.NBase, NNew: j.NNew,
		Base: orElse(j.Base, nan), New: orElse(j.New, nan), Change: orElse(j.Change, nan), Lo: orElse(j.Lo, nan),
		Hi: orElse(j.Hi, hiNull), P: orElse(j.P, nan), PHolm: orElse(j.PHolm, nan), MDE: orElse(j.MDE, mdeNull),
		InFamily: j.InFamily, Verdict: j.Verdict, Why: j.Why}
	return nil
}
