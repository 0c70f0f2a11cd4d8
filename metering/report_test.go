package metering_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/metering"
)

func TestParsePriceSheet(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string
	}{
		{"Valid", `{"currency":"EUR","costAllocationTags":["CostCenter"],"prices":{"invocations":"0.0000002","worker_seconds":0.5}}`, ""},
		{"Empty", `{}`, ""},
		{"UnknownDimension", `{"prices":{"gpu_hours":"1"}}`, `unknown dimension "gpu_hours"`},
		{"NegativePrice", `{"prices":{"invocations":"-1"}}`, "not a non-negative decimal"},
		{"FractionPrice", `{"prices":{"invocations":"1/3"}}`, "not a non-negative decimal"},
		{"NotANumber", `{"prices":{"invocations":"cheap"}}`, "not a non-negative decimal"},
		{"BadCurrency", `{"currency":"dollars"}`, "ISO 4217"},
		{"UnknownField", `{"price":{}}`, "unknown field"},
		{"RepeatedTag", `{"costAllocationTags":["A","A"]}`, "repeated"},
		{"NotJSON", `prices: 1`, "price sheet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := metering.ParsePriceSheet([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				again, err := metering.ParsePriceSheet([]byte(ps.String()))
				if err != nil || again.String() != ps.String() {
					t.Errorf("round trip: %v\n%s\n%v", err, ps, again)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Errorf("error %v, want EINVALID containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	ps, err := metering.ParsePriceSheet([]byte(`{"currency":"USD","costAllocationTags":["CostCenter"],
		"prices":{"invocations":"0.0000002","worker_seconds":"0.0001","storage_byte_hours":"0.000000001"}}`))
	if err != nil {
		t.Fatal(err)
	}
	h := t0
	recs := []metering.Record{
		{TenantID: "acme", Hour: h, Dimension: metering.Invocations, Value: 1_000_000},
		{TenantID: "acme", Hour: h, Dimension: metering.WorkerSeconds, Value: 3_600_000}, // 3600 s
		{TenantID: "acme", Hour: h.Add(time.Hour), Dimension: metering.Invocations, Value: 500_000},
		{TenantID: "globex", Hour: h, Dimension: metering.StorageByteHours, Value: 3600 * 1_000_000_000}, // 1e9 byte-hours
		{TenantID: "globex", Hour: h, Dimension: metering.BytesIn, Value: 42},
	}
	tags := map[string]map[string]string{"acme": {"CostCenter": "cc-1"}, "globex": {"Team": "x"}}
	r := metering.Build(recs, tags, ps, h, h.Add(2*time.Hour))
	wantLines := []struct{ tenant, dim, qty, cost, cc string }{
		{"acme", "invocations", "1000000", "0.2", "cc-1"},
		{"acme", "worker_seconds", "3600", "0.36", "cc-1"},
		{"acme", "invocations", "500000", "0.1", "cc-1"},
		{"globex", "bytes_in", "42", "0", ""},
		{"globex", "storage_byte_hours", "1000000000", "1", ""},
	}
	if len(r.Lines) != len(wantLines) {
		t.Fatalf("%d lines, want %d: %+v", len(r.Lines), len(wantLines), r.Lines)
	}
	for i, w := range wantLines {
		l := r.Lines[i]
		if l.TenantID != w.tenant || string(l.Dimension) != w.dim || l.Quantity != w.qty || l.Cost != w.cost || l.Tags["CostCenter"] != w.cc {
			t.Errorf("line %d = %+v, want %+v", i, l, w)
		}
	}
	if r.TotalCost != "1.66" {
		t.Errorf("total cost %s, want 1.66", r.TotalCost)
	}
	if got := r.ByTag["CostCenter"]; got["cc-1"] != "0.66" || got[""] != "1" {
		t.Errorf("by CostCenter %v, want cc-1 0.66 and untagged 1", got)
	}
	if len(r.Totals) != 4 || r.Totals[0].Quantity != "1500000" || r.Totals[0].Cost != "0.3" {
		t.Errorf("totals %+v", r.Totals)
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if lines[0] != "tenant_id,hour_start,dimension,quantity,unit,unit_price,cost,currency,tag:CostCenter" {
		t.Errorf("header %q", lines[0])
	}
	if lines[1] != "acme,2026-11-23T10:00:00Z,invocations,1000000,requests,0.0000002,0.2,USD,cc-1" {
		t.Errorf("first row %q", lines[1])
	}
	if len(lines) != 1+len(wantLines) {
		t.Errorf("%d CSV lines, want %d", len(lines), 1+len(wantLines))
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name, from, to string
		wantFrom       string
		wantTo         string
		wantErr        string
	}{
		{"Dates", "2026-11-01", "2026-11-02", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", ""},
		{"Hours", "2026-11-01T05", "2026-11-01T07", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", ""},
		{"RoundedOutward", "2026-11-01T05:30:00Z", "2026-11-01T06:10:00+01:00", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", ""},
		{"MissingFrom", "", "2026-11-02", "", "", "from is required"},
		{"MissingTo", "2026-11-02", "", "", "", "to is required"},
		{"Garbage", "yesterday", "2026-11-02", "", "", `from "yesterday" is not a time`},
		{"Reversed", "2026-11-02", "2026-11-01", "", "", "must be before"},
		{"Empty", "2026-11-02", "2026-11-02", "", "", "must be before"},
		{"TooLong", "2025-01-01", "2026-11-02", "", "", "longer than 366 days"},
		{"AncientYear", "0001-01-01", "2026-11-02", "", "", "years 2000 to 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, to, err := metering.ParseRange(tt.from, tt.to, 366*24*time.Hour)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || tenantml.ErrorCode(err) != tenantml.EINVALID {
					t.Fatalf("error %v, want EINVALID containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Format(time.RFC3339) != tt.wantFrom || to.Format(time.RFC3339) != tt.wantTo {
				t.Errorf("got %s..%s, want %s..%s", f.Format(time.RFC3339), to.Format(time.RFC3339), tt.wantFrom, tt.wantTo)
			}
		})
	}
}
