package audit_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tenantml/tenantml/audit"
)

func TestParseCheckpoint(t *testing.T) {
	root := tlog.RecordHash([]byte("x"))
	cp := audit.Checkpoint{Origin: "tenantml.audit/test", Size: 42, Root: root, Time: time.Date(2026, 11, 23, 9, 0, 0, 5, time.UTC), Number: 7}
	text := string(audit.FormatCheckpoint(cp))
	t.Run("OK", func(t *testing.T) {
		got, err := audit.ParseCheckpoint([]byte(text))
		if err != nil || got != cp {
			t.Fatalf("ParseCheckpoint = %+v, %v; want %+v", got, err, cp)
		}
		if !strings.HasPrefix(text, "tenantml.audit/test\n42\n") {
			t.Errorf("text = %q", text)
		}
	})
	bad := map[string]string{
		"Empty":         "",
		"NoNewline":     strings.TrimSuffix(text, "\n"),
		"ExtraLine":     text + "x\n",
		"OriginSpace":   strings.Replace(text, "tenantml.audit/test", "tenantml audit", 1),
		"NegativeSize":  strings.Replace(text, "\n42\n", "\n-1\n", 1),
		"LeadingZero":   strings.Replace(text, "\n42\n", "\n042\n", 1),
		"ShortRoot":     strings.Replace(text, root.String(), "AAAA", 1),
		"BadTime":       strings.Replace(text, "time 2026", "time 20x6", 1),
		"NoTimeKeyword": strings.Replace(text, "time ", "when ", 1),
		"BadNumber":     strings.Replace(text, "checkpoint 7", "checkpoint -7", 1),
	}
	for name, in := range bad {
		t.Run("Err"+name, func(t *testing.T) {
			if _, err := audit.ParseCheckpoint([]byte(in)); !errors.Is(err, audit.ErrMalformedCheckpoint) {
				t.Errorf("err = %v, want ErrMalformedCheckpoint", err)
			}
		})
	}
}

func TestOpenCheckpoint(t *testing.T) {
	skey, vkey, _ := note.GenerateKey(rand.Reader, "tenantml.audit/test")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	cp := audit.Checkpoint{Origin: "tenantml.audit/test", Size: 3, Time: time.Unix(0, 0).UTC()}
	msg, err := audit.SignCheckpoint(cp, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if got, err := audit.OpenCheckpoint(msg, v); err != nil || got != cp {
			t.Errorf("OpenCheckpoint = %+v, %v", got, err)
		}
	})
	t.Run("ErrOriginMismatch", func(t *testing.T) {
		other := cp
		other.Origin = "tenantml.audit/other"
		if _, err := audit.SignCheckpoint(other, s); err == nil {
			t.Error("signed a checkpoint for another origin")
		}
	})
	t.Run("ErrNoVerifier", func(t *testing.T) {
		if _, err := audit.OpenCheckpoint(msg, nil); err == nil {
			t.Error("opened without a verifier")
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		forged := strings.Replace(string(msg), "\n3\n", "\n4\n", 1)
		if _, err := audit.OpenCheckpoint([]byte(forged), v); err == nil {
			t.Error("tampered checkpoint opened")
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(audit.FormatCheckpoint(audit.Checkpoint{Origin: "o/x", Size: 1, Time: time.Unix(1, 0)})))
	f.Add([]byte("o\n1\nAAAA\ntime x\ncheckpoint 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := audit.ParseCheckpoint(b)
		if err != nil {
			return
		}
		again, err := audit.ParseCheckpoint(audit.FormatCheckpoint(cp))
		if err != nil || !again.Time.Equal(cp.Time) || again.Size != cp.Size || again.Root != cp.Root || again.Number != cp.Number {
			t.Fatalf("round trip of %q: %+v, %v", b, again, err)
		}
	})
}
