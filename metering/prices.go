package metering

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/tenantml/tenantml"
)

// PriceSheet prices usage and names the tags costs are allocated by.
//
// Its file form (JSON):
//
//	{
//	  "currency": "USD",
//	  "costAllocationTags": ["CostCenter"],
//	  "prices": {
//	    "invocations": "0.0000002",
//	    "model_compute_ms": "0.0000000167",
//	    "worker_seconds": "0.000056"
//	  }
//	}
//
// A price is a decimal string (or a JSON number) per reported unit of the
// dimension (Dimensions: per request, per byte, per millisecond, per
// byte-second, per second, per byte-hour). A dimension without a price
// costs nothing. Costs are computed exactly and rounded only when shown.
type PriceSheet struct {
	Currency string
	// CostAllocationTags are tenant tag keys reports allocate costs by.
	CostAllocationTags []string
	Prices             map[Dimension]*big.Rat
}

// priceSheetJSON is the file form.
type priceSheetJSON struct {
	Currency           string                     `json:"currency"`
	CostAllocationTags []string                   `json:"costAllocationTags"`
	Prices             map[string]json.RawMessage `json:"prices"`
}

// DefaultPriceSheet prices nothing: reports show quantities, costs 0.
func DefaultPriceSheet() *PriceSheet {
	return &PriceSheet{Currency: "USD", Prices: map[Dimension]*big.Rat{}}
}

// ParsePriceSheet parses the file form. Unknown fields and dimensions,
// negative or malformed prices are errors (EINVALID), naming what is wrong.
func ParsePriceSheet(b []byte) (*PriceSheet, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var in priceSheetJSON
	if err := dec.Decode(&in); err != nil {
		return nil, tenantml.Errorf(tenantml.EINVALID, "price sheet: %v", err)
	}
	ps := DefaultPriceSheet()
	if in.Currency != "" {
		if len(in.Currency) != 3 || strings.ToUpper(in.Currency) != in.Currency {
			return nil, tenantml.Errorf(tenantml.EINVALID, "price sheet: currency %q is not an ISO 4217 code such as USD", in.Currency)
		}
		ps.Currency = in.Currency
	}
	seen := map[string]bool{}
	for _, k := range in.CostAllocationTags {
		if k == "" || seen[k] {
			return nil, tenantml.Errorf(tenantml.EINVALID, "price sheet: cost allocation tag %q is empty or repeated", k)
		}
		seen[k] = true
		ps.CostAllocationTags = append(ps.CostAllocationTags, k)
	}
	for name, raw := range in.Prices {
		if _, ok := Info(Dimension(name)); !ok {
			return nil, tenantml.Errorf(tenantml.EINVALID, "price sheet: unknown dimension %q (known: %s)", name, dimensionNames())
		}
		s := strings.Trim(string(raw), `"`)
		r, ok := new(big.Rat).SetString(s)
		if !ok || r.Sign() < 0 || strings.ContainsAny(s, "/eE") {
			return nil, tenantml.Errorf(tenantml.EINVALID, "price sheet: price of %s %s is not a non-negative decimal", name, string(raw))
		}
		ps.Prices[Dimension(name)] = r
	}
	return ps, nil
}

func dimensionNames() string {
	var s []string
	for _, d := range Dimensions() {
		s = append(s, string(d.Name))
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// Price returns d's unit price (zero when unpriced).
func (ps *PriceSheet) Price(d Dimension) *big.Rat {
	if p := ps.Prices[d]; p != nil {
		return p
	}
	return new(big.Rat)
}

// String returns the sheet in its file form.
func (ps *PriceSheet) String() string {
	out := priceSheetJSON{Currency: ps.Currency, CostAllocationTags: ps.CostAllocationTags, Prices: map[string]json.RawMessage{}}
	for d, p := range ps.Prices {
		out.Prices[string(d)] = json.RawMessage(fmt.Sprintf("%q", decimal(p, 12)))
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return string(b)
}

// decimal formats r with at most prec decimals, trailing zeros trimmed.
func decimal(r *big.Rat, prec int) string {
	s := r.FloatString(prec)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
