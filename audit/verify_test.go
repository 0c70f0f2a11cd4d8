package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tenantml/tenantml/audit"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func readRecords(tb testing.TB, path string) [][]byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for len(b) >= 8 {
		n := binary.BigEndian.Uint32(b)
		out = append(out, append([]byte(nil), b[8:8+n]...))
		b = b[8+n:]
	}
	return out
}

func writeRecords(tb testing.TB, path string, recs [][]byte) {
	tb.Helper()
	var buf []byte
	for _, r := range recs {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r)))
		buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(r, castagnoli))
		buf = append(buf, r...)
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// rewriteHashes recomputes tree.hashes from the segment, as an attacker who
// knows the format would.
func rewriteHashes(tb testing.TB, dir string, recs [][]byte) {
	tb.Helper()
	var hashes []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	for n, rec := range recs {
		hs, err := tlog.StoredHashes(int64(n), rec, r)
		if err != nil {
			tb.Fatal(err)
		}
		hashes = append(hashes, hs...)
	}
	var buf []byte
	for _, h := range hashes {
		buf = append(buf, h[:]...)
	}
	os.WriteFile(filepath.Join(dir, "tree.hashes"), buf, 0o600)
}

// buildLog writes 20 events with checkpoints 0 (empty), 1 (10 events) and
// 2 (20 events, at Close).
func buildLog(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	tl := openTestLog(tb, dir, nil)
	for i := range 20 {
		mustAppend(tb, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		if i == 9 {
			if _, _, err := tl.Checkpoint(context.Background()); err != nil {
				tb.Fatal(err)
			}
		}
	}
	tl.close(tb)
	return dir
}

func TestVerify(t *testing.T) {
	src := buildLog(t)
	seg := func(dir string) string { return segmentPath(t, dir, 0) }
	cps := func(dir string) string { return filepath.Join(dir, "checkpoints.log") }
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   audit.ProblemKind
		seq    int64 // expected Seq of the first problem of that kind, -2 to skip
	}{
		{"ModifiedEventBytes", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(seg(dir))
			i := bytes.Index(b, []byte(`"seq":5,`))
			b[i+40] ^= 1
			os.WriteFile(seg(dir), b, 0o600)
		}, audit.ModifiedEvent, 5},
		{"ModifiedEventWithChecksum", func(t *testing.T, dir string) {
			recs := readRecords(t, seg(dir))
			recs[7] = bytes.Replace(recs[7], []byte(`"latencyMs":3`), []byte(`"latencyMs":9`), 1)
			writeRecords(t, seg(dir), recs)
		}, audit.ModifiedEvent, 7},
		{"ModifiedEventWithHashes", func(t *testing.T, dir string) {
			recs := readRecords(t, seg(dir))
			recs[12] = bytes.Replace(recs[12], []byte(`"Allowed"`), []byte(`"Allowe!"`), 1)
			writeRecords(t, seg(dir), recs)
			rewriteHashes(t, dir, recs)
		}, audit.ModifiedEvent, 10},
		{"DeletedEvent", func(t *testing.T, dir string) {
			recs := readRecords(t, seg(dir))
			recs = append(recs[:5], recs[6:]...)
			writeRecords(t, seg(dir), recs)
			rewriteHashes(t, dir, recs)
		}, audit.DeletedEvent, 5},
		{"ReorderedEvents", func(t *testing.T, dir string) {
			recs := readRecords(t, seg(dir))
			recs[3], recs[4] = recs[4], recs[3]
			writeRecords(t, seg(dir), recs)
		}, audit.ReorderedEvents, 3},
		{"TruncatedTail", func(t *testing.T, dir string) {
			recs := readRecords(t, seg(dir))
			recs = recs[:17]
			writeRecords(t, seg(dir), recs)
			rewriteHashes(t, dir, recs)
		}, audit.TruncatedTail, 17},
		{"ForgedCheckpointText", func(t *testing.T, dir string) {
			recs := readRecords(t, cps(dir))
			recs[1] = bytes.Replace(recs[1], []byte("\n10\n"), []byte("\n11\n"), 1)
			writeRecords(t, cps(dir), recs)
		}, audit.ForgedCheckpoint, -2},
		{"ForgedCheckpointOtherKey", func(t *testing.T, dir string) {
			recs := readRecords(t, cps(dir))
			n, err := note.Open(recs[2], note.VerifierList(mustVerifier(t, dir)))
			if err != nil {
				t.Fatal(err)
			}
			skey, _, _ := note.GenerateKey(rand.Reader, "tenantml.audit/test")
			s, _ := note.NewSigner(skey)
			recs[2], _ = note.Sign(&note.Note{Text: n.Text}, s)
			writeRecords(t, cps(dir), recs)
		}, audit.ForgedCheckpoint, -2},
		{"MissingCheckpoint", func(t *testing.T, dir string) {
			recs := readRecords(t, cps(dir))
			writeRecords(t, cps(dir), append(recs[:1], recs[2:]...))
		}, audit.MissingCheckpoint, -2},
		{"DeletedSegment", func(t *testing.T, dir string) {
			os.Remove(seg(dir))
		}, audit.TruncatedTail, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			tc.tamper(t, dir)
			rep, err := audit.Verify(dir, audit.VerifyOptions{})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if rep.OK() {
				t.Fatalf("Verify found nothing: %s", rep.Summary())
			}
			var found *audit.Problem
			for i, p := range rep.Problems {
				if p.Kind == tc.want {
					found = &rep.Problems[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("no %s problem in %v", tc.want, rep.Problems)
			}
			if tc.seq != -2 && found.Seq != tc.seq {
				t.Errorf("%s at seq %d, want %d (%s)", tc.want, found.Seq, tc.seq, found)
			}
			if found.File == "" || found.Message == "" {
				t.Errorf("problem without location: %+v", found)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		rep, err := audit.Verify(copyDir(t, src), audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
		if got, want := rep.Summary(), "20 events, 3 checkpoints valid"; got != want {
			t.Errorf("Summary = %q, want %q", got, want)
		}
	})
	t.Run("ErrNoKey", func(t *testing.T) {
		dir := copyDir(t, src)
		os.Remove(filepath.Join(dir, "checkpoint.pub"))
		if _, err := audit.Verify(dir, audit.VerifyOptions{}); err == nil || !strings.Contains(err.Error(), "public key") {
			t.Errorf("Verify without key = %v", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		_, vkey, _ := note.GenerateKey(rand.Reader, "tenantml.audit/test")
		v, _ := note.NewVerifier(vkey)
		rep, err := audit.Verify(copyDir(t, src), audit.VerifyOptions{Verifier: v})
		if err != nil || rep.OK() || rep.Problems[0].Kind != audit.ForgedCheckpoint {
			t.Errorf("Verify with another key = %+v, %v; want forged checkpoints", rep, err)
		}
	})
}

func mustVerifier(tb testing.TB, dir string) note.Verifier {
	tb.Helper()
	v, err := audit.ReadVerifierKey(filepath.Join(dir, "checkpoint.pub"))
	if err != nil {
		tb.Fatal(err)
	}
	return v
}
