package artifact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzRefFromLayout(f *testing.F) {
	for _, s := range []string{"churn/1/model.tar.gz", "a/b/c/d", "../1/x", "a//b", "a/1/b.tmp", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		rf, ok := refFromLayout("acme", rel)
		if !ok {
			return
		}
		// Whatever parses must round-trip to the same layout path and stay
		// inside the tenant's prefix.
		if got, want := rf.manifestPath(), "tenants/acme/models/"+rel; got != want {
			t.Fatalf("manifest path %q, want %q", got, want)
		}
		if _, err := newRef(rf.tenant, rf.key, rf.version); err != nil {
			t.Fatalf("parsed ref does not validate: %v", err)
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	rf, _ := newRef("acme", "m/f", "1")
	good, _ := json.Marshal(&manifest{Format: formatV1, Algorithm: algorithm, Tenant: "acme", Key: "m/f", Version: "1",
		UploadID: "u1", Body: rf.bodyDir() + "u1", SHA256: string(bytes.Repeat([]byte("a"), 64))})
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"format":"tenantml-artifact/v1","algorithm":"AES256_GCM_HKDF_1MB","body":"../../x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeManifest(b)
		if err != nil {
			return
		}
		if m.check(rf) == nil && (m.Tenant != "acme" || m.Body != rf.bodyDir()+m.UploadID) {
			t.Fatalf("check accepted a manifest for another place: %+v", m)
		}
	})
}

func FuzzPresigner_Verify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	p, err := NewPresigner(bytes.Repeat([]byte{1}, 32), func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	q, _ := p.Presign("GET", "acme", "m/f", "1", time.Hour)
	f.Add(q.Encode())
	f.Add("X-Tenantml-Expires=-1&X-Tenantml-Signature=00")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if p.Verify("GET", "acme", "m/f", "1", v) == nil && !strings.EqualFold(v.Get(QuerySignature), q.Get(QuerySignature)) {
			t.Fatalf("accepted a forged query %q", raw)
		}
	})
}
