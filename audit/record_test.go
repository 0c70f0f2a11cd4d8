package audit

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestRecordScanner_Next(t *testing.T) {
	two := appendRecord(appendRecord(nil, []byte(`{"seq":0,"a":1}`)), []byte(`{"seq":1}`))
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr error
	}{
		{"OK", two, 2, io.EOF},
		{"Empty", nil, 0, io.EOF},
		{"TornHeader", two[:len(two)-len(`{"seq":1}`)-3], 1, errTornRecord},
		{"TornPayload", two[:len(two)-2], 1, errTornRecord},
		{"Flipped", append(append([]byte(nil), two[:10]...), append([]byte{two[10] ^ 1}, two[11:]...)...), 0, errBadChecksum},
		{"HugeLength", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, 0, errBadChecksum},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := newRecordScanner(bytes.NewReader(tc.in), 1<<16)
			n := 0
			var err error
			for {
				_, _, err = sc.next()
				if err != nil {
					break
				}
				n++
			}
			if n != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("%d records then %v, want %d then %v", n, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzRecordScanner(f *testing.F) {
	f.Add(appendRecord(nil, []byte(`{"seq":0}`)))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sc := newRecordScanner(bytes.NewReader(b), 1<<16)
		for i := 0; i < len(b)+1; i++ {
			p, off, err := sc.next()
			if err == nil && (off < 0 || off+recordHeaderSize+int64(len(p)) > int64(len(b))) {
				t.Fatalf("record at %d of %d bytes overruns input of %d", off, len(p), len(b))
			}
			if err != nil && !errors.Is(err, errBadChecksum) {
				return
			}
			if errors.Is(err, errBadChecksum) && p == nil {
				return
			}
		}
		t.Fatal("scanner did not terminate")
	})
}

func FuzzLeafSeq(f *testing.F) {
	f.Add([]byte(`{"seq":12,"x":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, err := leafSeq(b)
		if err == nil && !bytes.HasPrefix(b, []byte(`{"seq":`)) {
			t.Fatalf("accepted %q as seq %d", b, seq)
		}
	})
}
