package sqltx

import (
	"testing"
	"time"
)

func TestDialect_Rebind(t *testing.T) {
	for _, c := range []struct {
		numbered bool
		in, want string
	}{
		{false, "a = ? AND b = ?", "a = ? AND b = ?"},
		{true, "a = ? AND b = ?", "a = $1 AND b = $2"},
		{true, "no params", "no params"},
		{true, "LIMIT ?", "LIMIT $1"},
	} {
		t.Run(c.in, func(t *testing.T) {
			d := &Dialect{Numbered: c.numbered}
			if got := d.Rebind(c.in); got != c.want {
				t.Fatalf("rebind = %q, want %q", got, c.want)
			}
		})
	}
}

func TestTimeCol_Scan(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	for _, c := range []struct {
		name string
		in   any
		ok   bool
	}{
		{"Time", want.In(time.FixedZone("x", 7200)), true},
		{"String", "2026-01-02T03:04:05.000006Z", true},
		{"Bytes", []byte("2026-01-02T05:04:05.000006+02:00"), true},
		{"BadString", "yesterday", false},
		{"BadType", 42, false},
		{"NullNotNullable", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got time.Time
			err := TimeCol{T: &got}.Scan(c.in)
			if (err == nil) != c.ok || (c.ok && (!got.Equal(want) || got.Location() != time.UTC)) {
				t.Fatalf("scan %v = %v, %v", c.in, got, err)
			}
		})
	}
	t.Run("NullNullable", func(t *testing.T) {
		p := &want
		if err := (TimeCol{P: &p}).Scan(nil); err != nil || p != nil {
			t.Fatalf("scan NULL = %v, %v", p, err)
		}
	})
}

func TestJSONCol_Scan(t *testing.T) {
	for _, c := range []struct {
		name string
		in   any
		want string
		ok   bool
	}{
		{"String", `{"a":"b"}`, "b", true},
		{"Bytes", []byte(`{"a":"b"}`), "b", true},
		{"Decoded", map[string]any{"a": "b"}, "b", true},
		{"Null", nil, "", true},
		{"Bad", `{`, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m map[string]string
			err := JSONCol{&m}.Scan(c.in)
			if (err == nil) != c.ok || m["a"] != c.want {
				t.Fatalf("scan = %v, %v", m, err)
			}
		})
	}
	if JSON(map[string]string(nil)) != "{}" || JSON([]string(nil)) != "[]" {
		t.Fatal("nil values must encode as empty JSON containers")
	}
}
