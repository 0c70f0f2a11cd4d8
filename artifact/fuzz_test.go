package artifact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzRefFromKey(f *testing.F) {
	for _, s := range []string{"acme/churn/1/model.tar.gz", "a/b/c/d/e", "acme/../1/x", "a//b/c", "a/m/1/b.tmp", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		rf, ok := refFromKey(key)
		if !ok {
			return
		}
		// Whatever parses must round-trip to the same key and validate.
		if got := rf.objectKey(); got != key {
			t.Fatalf("object key %q, want %q", got, key)
		}
		if _, err := newRef(rf.tenant, rf.key, rf.version); err != nil {
			t.Fatalf("parsed ref does not validate: %v", err)
		}
	})
}

func FuzzDecodeObjectDoc(f *testing.F) {
	good := mustJSON(&objectDoc{Format: formatV2, Algorithm: algorithm, ObjectID: strings.Repeat("a", 32), SHA256: strings.Repeat("b", 64),
		Bodies: []bodyRef{{ID: strings.Repeat("a", 32), Size: 3, CiphertextSize: headerSize + 3 + tagSize, SHA256: strings.Repeat("b", 64), MD5: strings.Repeat("c", 32)}}})
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"tenantml-object/v2","algorithm":"AES256_GCM_HKDF_1MB","bodies":[{"id":"../../x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeObjectDoc(b)
		if err != nil {
			return
		}
		// A manifest that decodes names only bodies of the exact ID form:
		// no path can be built from it outside its bucket's directory.
		for _, body := range d.Bodies {
			if !hexID.MatchString(body.ID) || strings.ContainsAny(body.ID, "/.\\") {
				t.Fatalf("accepted body id %q", body.ID)
			}
		}
		var back objectDoc
		if json.Unmarshal(mustJSON(d), &back) != nil {
			t.Fatal("decoded manifest does not re-encode")
		}
	})
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a", "../x", "a\x00b", "\xff", strings.Repeat("k", 1025)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		if key == "" || len(key) > MaxKeyBytes || strings.IndexByte(key, 0) >= 0 || !utf8.ValidString(key) {
			t.Fatalf("accepted %q", key)
		}
	})
}

func FuzzPresigner_Verify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	p, err := NewPresigner(bytes.Repeat([]byte{1}, 32), func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	iss := Issuer{AccessKeyID: "ASIAEXAMPLE", SessionToken: "tok"}
	q, _ := p.Presign("GET", "acme", "m/f", "1", iss, time.Hour)
	f.Add(q.Encode())
	f.Add("X-Tenantml-Expires=-1&X-Tenantml-Signature=00")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := p.Verify("GET", "acme", "m/f", "1", v)
		if err == nil && (!strings.EqualFold(v.Get(QuerySignature), q.Get(QuerySignature)) || got != iss) {
			t.Fatalf("accepted a forged query %q (issuer %+v)", raw, got)
		}
	})
}
