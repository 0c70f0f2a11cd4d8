package metering

import (
	"encoding/csv"
	"io"
	"math/big"
	"sort"
	"strconv"
	"time"
)

// costDecimals is how many decimals costs are shown with.
const costDecimals = 10

// Report is usage priced for a range of hours.
type Report struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Currency string    `json:"currency"`
	// CostAllocationTags are the tag keys of Line.Tags and ByTag.
	CostAllocationTags []string `json:"costAllocationTags"`
	// Lines are one per tenant, hour and dimension, ordered so.
	Lines []Line `json:"lines"`
	// Totals are one per tenant and dimension over the whole range.
	Totals []Total `json:"totals"`
	// ByTag allocates the cost by each cost allocation tag: tag key →
	// tag value ("" for tenants without the tag) → cost.
	ByTag map[string]map[string]string `json:"byTag,omitempty"`
	// TotalCost is the cost of every line.
	TotalCost string `json:"totalCost"`
}

// Line is one tenant-hour-dimension of a report.
type Line struct {
	TenantID  string    `json:"tenantId"`
	Hour      time.Time `json:"hour"`
	Dimension Dimension `json:"dimension"`
	// Quantity is in Unit (the stored value divided by the dimension's
	// scale), as a decimal string.
	Quantity  string            `json:"quantity"`
	Unit      string            `json:"unit"`
	UnitPrice string            `json:"unitPrice"`
	Cost      string            `json:"cost"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Value is the stored integer.
	Value int64 `json:"value"`
}

// Total is one tenant's usage of one dimension over the report's range.
type Total struct {
	TenantID  string    `json:"tenantId"`
	Dimension Dimension `json:"dimension"`
	Quantity  string    `json:"quantity"`
	Unit      string    `json:"unit"`
	Cost      string    `json:"cost"`
}

// Build prices records (as Store.Records returns them) over [from, to).
// tags holds each tenant's tags, for the cost allocation tags.
func Build(records []Record, tags map[string]map[string]string, ps *PriceSheet, from, to time.Time) *Report {
	if ps == nil {
		ps = DefaultPriceSheet()
	}
	r := &Report{From: from.UTC(), To: to.UTC(), Currency: ps.Currency, CostAllocationTags: append([]string{}, ps.CostAllocationTags...), Lines: []Line{}, Totals: []Total{}}
	type tk struct {
		t string
		d Dimension
	}
	totals := map[tk]*big.Int{}
	costs := map[tk]*big.Rat{}
	var order []tk
	byTag := map[string]map[string]*big.Rat{}
	all := new(big.Rat)
	for _, rec := range Merge(records) {
		info, ok := Info(rec.Dimension)
		if !ok {
			continue
		}
		q := quantity(rec.Value, info)
		cost := new(big.Rat).Mul(q, ps.Price(rec.Dimension))
		l := Line{TenantID: rec.TenantID, Hour: rec.Hour, Dimension: rec.Dimension, Quantity: decimal(q, max(info.Decimals, 0)),
			Unit: info.Unit, UnitPrice: decimal(ps.Price(rec.Dimension), costDecimals), Cost: decimal(cost, costDecimals), Value: rec.Value}
		if len(ps.CostAllocationTags) > 0 {
			l.Tags = map[string]string{}
			for _, k := range ps.CostAllocationTags {
				v := tags[rec.TenantID][k]
				l.Tags[k] = v
				if byTag[k] == nil {
					byTag[k] = map[string]*big.Rat{}
				}
				if byTag[k][v] == nil {
					byTag[k][v] = new(big.Rat)
				}
				byTag[k][v].Add(byTag[k][v], cost)
			}
		}
		r.Lines = append(r.Lines, l)
		key := tk{rec.TenantID, rec.Dimension}
		if totals[key] == nil {
			totals[key], costs[key] = new(big.Int), new(big.Rat)
			order = append(order, key)
		}
		totals[key].Add(totals[key], big.NewInt(rec.Value))
		costs[key].Add(costs[key], cost)
		all.Add(all, cost)
	}
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].t != order[j].t {
			return order[i].t < order[j].t
		}
		return dimOrder(order[i].d) < dimOrder(order[j].d)
	})
	for _, key := range order {
		info, _ := Info(key.d)
		q := new(big.Rat).SetFrac(totals[key], big.NewInt(info.Scale))
		r.Totals = append(r.Totals, Total{TenantID: key.t, Dimension: key.d, Quantity: decimal(q, info.Decimals), Unit: info.Unit, Cost: decimal(costs[key], costDecimals)})
	}
	if len(byTag) > 0 {
		r.ByTag = map[string]map[string]string{}
		for k, vs := range byTag {
			r.ByTag[k] = map[string]string{}
			for v, c := range vs {
				r.ByTag[k][v] = decimal(c, costDecimals)
			}
		}
	}
	r.TotalCost = decimal(all, costDecimals)
	return r
}

// quantity is a stored value in the dimension's reported unit.
func quantity(v int64, info DimensionInfo) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(v), big.NewInt(info.Scale))
}

// CSVHeader is the header row of WriteCSV, before the cost allocation
// tags' columns ("tag:<key>").
func CSVHeader() []string {
	return []string{"tenant_id", "hour_start", "dimension", "quantity", "unit", "unit_price", "cost", "currency"}
}

// WriteCSV writes the report as CSV: a header, then one row per tenant,
// hour and dimension (hour_start in RFC 3339, UTC), then one column per
// cost allocation tag, as spreadsheets and cost tools read it.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := CSVHeader()
	for _, k := range r.CostAllocationTags {
		head = append(head, "tag:"+k)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, l := range r.Lines {
		row := []string{l.TenantID, l.Hour.UTC().Format(time.RFC3339), string(l.Dimension), l.Quantity, l.Unit, l.UnitPrice, l.Cost, r.Currency}
		for _, k := range r.CostAllocationTags {
			row = append(row, l.Tags[k])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ParseRange parses a report's from and to: RFC 3339 times, or dates
// (YYYY-MM-DD, midnight UTC), or hours (YYYY-MM-DDTHH, UTC). From is
// rounded down and to up to whole hours. It refuses (EINVALID) a missing
// or malformed bound, from not before to, and a range longer than
// maxRange.
func ParseRange(from, to string, maxRange time.Duration) (time.Time, time.Time, error) {
	f, err := parseTime("from", from)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	t, err := parseTime("to", to)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	f = Hour(f)
	if h := Hour(t); !h.Equal(t.UTC()) {
		t = h.Add(time.Hour)
	}
	t = t.UTC()
	switch {
	case !f.Before(t):
		return time.Time{}, time.Time{}, errInvalid("from (%s) must be before to (%s)", f.Format(time.RFC3339), t.Format(time.RFC3339))
	case maxRange > 0 && t.Sub(f) > maxRange:
		return time.Time{}, time.Time{}, errInvalid("the range from %s to %s is longer than %s", f.Format(time.RFC3339), t.Format(time.RFC3339), formatDays(maxRange))
	}
	return f, t, nil
}

func formatDays(d time.Duration) string {
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errInvalid("%s is required (RFC 3339, YYYY-MM-DD or YYYY-MM-DDTHH)", name)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 2000 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return time.Time{}, errInvalid("%s %q is not a time (RFC 3339, YYYY-MM-DD or YYYY-MM-DDTHH, years 2000 to 9999)", name, s)
}
