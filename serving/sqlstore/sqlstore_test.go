package sqlstore

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

func TestTextTime(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	times := []time.Time{
		base,
		base.Add(500 * time.Millisecond),
		base.Add(time.Second),
		base.Add(time.Second + 5*time.Millisecond),
		base.Add(time.Second + 50*time.Millisecond),
		base.In(time.FixedZone("x", -5*3600)).Add(2 * time.Second),
	}
	var texts []string
	for _, tm := range times {
		texts = append(texts, TextTime(tm).(string))
	}
	if !sort.StringsAreSorted(texts) {
		t.Fatalf("text of ascending times does not sort: %v", texts)
	}
	if got, want := texts[3], "2026-03-01T12:00:01.005Z"; got != want {
		t.Fatalf("TextTime = %s, want %s", got, want)
	}
	if got, want := TextTime(base.Add(999999*time.Nanosecond)), "2026-03-01T12:00:00.000Z"; got != want {
		t.Fatalf("TextTime rounds: %s, want %s", got, want)
	}
}

func TestParseToken(t *testing.T) {
	byName := cursor{Kind: serving.KindModel}
	byTime := cursor{Kind: serving.KindModel, ByTime: true, Desc: true}
	in := cursor{Kind: serving.KindModel, ByTime: true, Desc: true, Name: "acme--churn", Created: 1772366400123}
	got, err := parseToken(in.token(), byTime)
	if err != nil || got != in {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, in)
	}
	for _, tt := range []struct {
		name, token string
		want        cursor
	}{
		{"OtherOrder", in.token(), byName},
		{"OtherKind", in.token(), cursor{Kind: serving.KindEndpoint, ByTime: true, Desc: true}},
		{"NoName", cursor{Kind: serving.KindModel}.token(), byName},
		{"NotBase64", "acme--churn!", byName},
		{"NotJSON", "YWNtZQ", byName},
		{"TooLong", cursor{Kind: serving.KindModel, Name: strings.Repeat("a", 400)}.token(), byName},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseToken(tt.token, tt.want); tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("parseToken = %v, want EINVALID", err)
			}
		})
	}
}

func TestMergeTags(t *testing.T) {
	tests := []struct {
		name    string
		current map[string]string
		set     map[string]string
		remove  []string
		want    map[string]string
		ok      bool
	}{
		{"SetNewSpellingWins", map[string]string{"Team": "a"}, map[string]string{"TEAM": "b"}, nil, map[string]string{"TEAM": "b"}, true},
		{"RemoveAnyCase", map[string]string{"Team": "a", "x": "1"}, nil, []string{"team", "absent"}, map[string]string{"x": "1"}, true},
		{"KeepTenantID", map[string]string{"TenantID": "acme"}, map[string]string{"tenantid": "acme"}, nil, map[string]string{"tenantid": "acme"}, true},
		{"ErrChangeTenantID", map[string]string{"TenantID": "acme"}, map[string]string{"TenantID": "globex"}, nil, nil, false},
		{"ErrAddTenantID", nil, map[string]string{"TenantID": "acme"}, nil, nil, false},
		{"ErrRemoveTenantID", map[string]string{"TenantID": "acme"}, nil, []string{"TENANTID"}, nil, false},
		{"RemoveAbsentTenantID", map[string]string{"x": "1"}, nil, []string{"TenantID"}, map[string]string{"x": "1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeTags(tt.current, tt.set, tt.remove)
			if (err == nil) != tt.ok || (tt.ok && !reflect.DeepEqual(got, tt.want)) {
				t.Fatalf("mergeTags = %v, %v; want %v (ok %v)", got, err, tt.want, tt.ok)
			}
			if err != nil && tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("error code %q, want EINVALID", tenantml.ErrorCode(err))
			}
		})
	}
}
