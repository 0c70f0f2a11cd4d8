package keys_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/keys"
)

const day = 24 * time.Hour

func TestService_RotateKeyOnDemand(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	old, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("v1")})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour)
	v, err := f.svc.RotateKeyOnDemand(ctx, "acme", m.KeyID)
	if err != nil || v != 2 {
		t.Fatalf("rotate = %d, %v", v, err)
	}
	nw, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("v2")})
	if err != nil || nw.KeyVersion != 2 {
		t.Fatalf("encrypt after rotate = %+v, %v", nw, err)
	}
	for _, c := range []struct {
		blob    []byte
		want    string
		version int
	}{{old.CiphertextBlob, "v1", 1}, {nw.CiphertextBlob, "v2", 2}} {
		dec, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: c.blob})
		if err != nil || string(dec.Plaintext) != c.want || dec.KeyVersion != c.version {
			t.Fatalf("decrypt v%d = %+v, %v", c.version, dec, err)
		}
	}
	re, err := f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: old.CiphertextBlob, DestinationKeyID: m.KeyID})
	if err != nil || re.SourceKeyVersion != 1 || re.KeyVersion != 2 {
		t.Fatalf("reencrypt = %+v, %v", re, err)
	}
	vs, err := f.svc.ListKeyVersions(ctx, "acme", m.KeyID)
	if err != nil || len(vs) != 2 || vs[1].RotationType != keys.RotationOnDemand || !vs[1].Created.Equal(f.clock.Now()) {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	st, err := f.svc.GetKeyRotationStatus(ctx, "acme", m.KeyID)
	if err != nil || !st.OnDemandRotationDate.Equal(f.clock.Now()) {
		t.Fatalf("status = %+v, %v", st, err)
	}
	t.Run("ErrDisabled", func(t *testing.T) {
		if err := f.svc.DisableKey(ctx, "acme", m.KeyID); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.RotateKeyOnDemand(ctx, "acme", m.KeyID)
		wantExc(t, err, keys.ExcInvalidState)
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		_, err := f.svc.RotateKeyOnDemand(ctx, "globex", m.KeyID)
		wantExc(t, err, keys.ExcNotFound)
	})
}

func TestService_RotateDue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	idle := f.key(t, "globex")
	start := f.clock.Now()
	if err := f.svc.EnableKeyRotation(ctx, "acme", m.KeyID, 90); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.GetKeyRotationStatus(ctx, "acme", m.KeyID)
	if err != nil || !st.Enabled || st.RotationPeriodInDays != 90 || !st.NextRotationDate.Equal(start.Add(90*day)) {
		t.Fatalf("status = %+v, %v", st, err)
	}
	steps := []struct {
		at   time.Duration
		want int // keys rotated
		cur  int // current version after
	}{
		{89 * day, 0, 1},
		{90 * day, 1, 2},
		{90*day + time.Hour, 0, 2},
		{180 * day, 1, 3},
	}
	for _, s := range steps {
		got, err := f.svc.RotateDue(ctx, start.Add(s.at))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != s.want {
			t.Fatalf("at +%v rotated %v, want %d keys", s.at, got, s.want)
		}
		d, _ := f.svc.DescribeKey(ctx, "acme", m.KeyID)
		if d.CurrentVersion != s.cur {
			t.Fatalf("at +%v version = %d, want %d", s.at, d.CurrentVersion, s.cur)
		}
	}
	if d, _ := f.svc.DescribeKey(ctx, "globex", idle.KeyID); d.CurrentVersion != 1 {
		t.Fatal("a key without rotation was rotated")
	}
	t.Run("Disable", func(t *testing.T) {
		if err := f.svc.DisableKeyRotation(ctx, "acme", m.KeyID); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.RotateDue(ctx, start.Add(1000*day))
		if err != nil || len(got) != 0 {
			t.Fatalf("rotated %v, %v after disabling rotation", got, err)
		}
		st, _ := f.svc.GetKeyRotationStatus(ctx, "acme", m.KeyID)
		if st.Enabled || st.RotationPeriodInDays != 0 {
			t.Fatalf("status = %+v", st)
		}
	})
	for _, p := range []int{89, 2561, -1} {
		wantExc(t, f.svc.EnableKeyRotation(ctx, "acme", m.KeyID, p), keys.ExcValidation)
	}
}

func TestService_ScheduleKeyDeletion(t *testing.T) {
	ctx := context.Background()
	t.Run("WindowBounds", func(t *testing.T) {
		f := newFixture(t)
		for _, d := range []int{6, 31, -7} {
			m := f.key(t, "acme")
			_, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, d)
			wantExc(t, err, keys.ExcValidation)
		}
		for _, c := range []struct{ in, want int }{{0, 30}, {7, 7}, {30, 30}} {
			m := f.key(t, "acme")
			when, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, c.in)
			if err != nil {
				t.Fatal(err)
			}
			if want := f.clock.Now().Add(time.Duration(c.want) * day); !when.Equal(want) {
				t.Fatalf("days %d: deletion date = %v, want %v", c.in, when, want)
			}
			d, _ := f.svc.DescribeKey(ctx, "acme", m.KeyID)
			if d.KeyState != keys.StatePendingDeletion || d.PendingDeletionWindowInDays != c.want {
				t.Fatalf("metadata = %+v", d)
			}
		}
	})
	t.Run("PendingUnusableThenCancel", func(t *testing.T) {
		f := newFixture(t)
		m := f.key(t, "acme")
		enc, _ := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
		if _, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, 7); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, 7)
		wantExc(t, err, keys.ExcInvalidState)
		_, err = f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
		wantExc(t, err, keys.ExcInvalidState)
		_, err = f.svc.GenerateDataKey(ctx, "acme", keys.GenerateDataKeyInput{KeyID: m.KeyID, KeySpec: keys.DataKeySpecAES256})
		wantExc(t, err, keys.ExcInvalidState)
		if err := f.svc.CancelKeyDeletion(ctx, "acme", m.KeyID); err != nil {
			t.Fatal(err)
		}
		d, _ := f.svc.DescribeKey(ctx, "acme", m.KeyID)
		if d.KeyState != keys.StateDisabled || !d.DeletionDate.IsZero() {
			t.Fatalf("after cancel: %+v", d)
		}
		wantExc(t, f.svc.CancelKeyDeletion(ctx, "acme", m.KeyID), keys.ExcInvalidState)
		if err := f.svc.EnableKey(ctx, "acme", m.KeyID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
			t.Fatalf("decrypt after cancel and enable: %v", err)
		}
	})
}

func TestService_DestroyDue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	keep := f.key(t, "acme")
	if err := f.svc.CreateAlias(ctx, "acme", "alias/doomed", m.KeyID); err != nil {
		t.Fatal(err)
	}
	enc, _ := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
	start := f.clock.Now()
	if _, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, 7); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.DestroyDue(ctx, start.Add(7*day-time.Second))
	if err != nil || len(got) != 0 {
		t.Fatalf("destroyed %v, %v before the deletion date", got, err)
	}
	got, err = f.svc.DestroyDue(ctx, start.Add(7*day))
	if err != nil || len(got) != 1 {
		t.Fatalf("DestroyDue = %v, %v", got, err)
	}
	r := got[0]
	if r.KeyID != m.KeyID || r.Tenant != "acme" || r.Versions != 1 || r.Override || len(r.Aliases) != 1 || r.Aliases[0] != "alias/doomed" {
		t.Fatalf("report = %+v", r)
	}
	_, err = f.svc.DescribeKey(ctx, "acme", m.KeyID)
	wantExc(t, err, keys.ExcNotFound)
	_, err = f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	wantExc(t, err, keys.ExcNotFound)
	_, err = f.svc.DescribeKey(ctx, "acme", "alias/doomed")
	wantExc(t, err, keys.ExcNotFound)
	if _, err := f.svc.DescribeKey(ctx, "acme", keep.KeyID); err != nil {
		t.Fatalf("other key destroyed: %v", err)
	}
}

func TestService_Destroy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	if _, err := f.svc.RotateKeyOnDemand(ctx, "acme", m.KeyID); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Destroy(ctx, "globex", m.KeyID)
	wantExc(t, err, keys.ExcNotFound)
	r, err := f.svc.Destroy(ctx, "acme", m.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Override || r.Versions != 2 || r.StateBefore != keys.StateEnabled {
		t.Fatalf("report = %+v", r)
	}
	_, err = f.svc.Destroy(ctx, "acme", m.KeyID)
	wantExc(t, err, keys.ExcNotFound)
}

func TestService_EraseTenant(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fixture, []byte, []byte) {
		f := newFixture(t)
		a1, a2 := f.key(t, "acme"), f.key(t, "acme")
		g := f.key(t, "globex")
		if _, err := f.svc.RotateKeyOnDemand(ctx, "acme", a2.KeyID); err != nil {
			t.Fatal(err)
		}
		ea, _ := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: a1.KeyID, Plaintext: []byte("a")})
		eg, _ := f.svc.Encrypt(ctx, "globex", keys.EncryptInput{KeyID: g.KeyID, Plaintext: []byte("g")})
		return f, ea.CiphertextBlob, eg.CiphertextBlob
	}
	check := func(t *testing.T, f *fixture, rep *keys.ErasureReport, ea, eg []byte) {
		t.Helper()
		if len(rep.Keys) != 2 {
			t.Fatalf("report lists %d keys, want 2", len(rep.Keys))
		}
		versions := rep.Keys[0].Versions + rep.Keys[1].Versions
		if versions != 3 {
			t.Fatalf("report lists %d versions, want 3", versions)
		}
		if list, _ := f.svc.ListKeys(ctx, "acme"); len(list) != 0 {
			t.Fatalf("acme still has keys %v", list)
		}
		if _, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: ea}); err == nil {
			t.Fatal("acme's ciphertext still decrypts")
		}
		if d, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: eg}); err != nil || string(d.Plaintext) != "g" {
			t.Fatalf("globex affected: %v", err)
		}
	}
	t.Run("ErrNotDue", func(t *testing.T) {
		f, ea, _ := setup(t)
		_, err := f.svc.EraseTenant(ctx, "acme", keys.EraseOptions{})
		wantExc(t, err, keys.ExcInvalidState)
		if _, err := f.svc.ScheduleTenantDeletion(ctx, "acme", 7); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(7*day - time.Minute)
		_, err = f.svc.EraseTenant(ctx, "acme", keys.EraseOptions{})
		wantExc(t, err, keys.ExcInvalidState)
		if list, _ := f.svc.ListKeys(ctx, "acme"); len(list) != 2 {
			t.Fatalf("a refused erasure destroyed keys: %v", list)
		}
		_ = ea
	})
	t.Run("AfterWaitingPeriod", func(t *testing.T) {
		f, ea, eg := setup(t)
		when, err := f.svc.ScheduleTenantDeletion(ctx, "acme", 7)
		if err != nil || !when.Equal(f.clock.Now().Add(7*day)) {
			t.Fatalf("ScheduleTenantDeletion = %v, %v", when, err)
		}
		f.clock.Add(7 * day)
		rep, err := f.svc.EraseTenant(ctx, "acme", keys.EraseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Override || rep.Keys[0].Override {
			t.Fatalf("report marks an override: %+v", rep)
		}
		check(t, f, rep, ea, eg)
	})
	t.Run("Override", func(t *testing.T) {
		f, ea, eg := setup(t)
		rep, err := f.svc.EraseTenant(ctx, "acme", keys.EraseOptions{Override: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Override || !rep.Keys[0].Override {
			t.Fatalf("report = %+v", rep)
		}
		check(t, f, rep, ea, eg)
	})
}

// Concurrent rotations of one key serialise through the store's revisions:
// every call either rotates or reports ConflictException, no version is
// lost or duplicated, and every version still decrypts.
func TestService_RotateKeyOnDemandConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	const n = 8
	var wg sync.WaitGroup
	results := make([]int, n)
	errs := make([]error, n)
	blobs := make([][]byte, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = f.svc.RotateKeyOnDemand(ctx, "acme", m.KeyID)
			if errs[i] == nil {
				out, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte{byte(i)}})
				if err == nil {
					blobs[i] = out.CiphertextBlob
				}
			}
		})
	}
	wg.Wait()
	ok := 0
	seen := map[int]bool{}
	for i, err := range errs {
		switch keys.ExceptionOf(err) {
		case "":
			ok++
			if seen[results[i]] {
				t.Fatalf("version %d returned twice", results[i])
			}
			seen[results[i]] = true
		case keys.ExcConflict:
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	vs, err := f.svc.ListKeyVersions(ctx, "acme", m.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1+ok {
		t.Fatalf("%d versions after %d successful rotations", len(vs), ok)
	}
	for i, b := range blobs {
		if b == nil {
			continue
		}
		d, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: b})
		if err != nil || d.Plaintext[0] != byte(i) {
			t.Fatalf("blob %d: %v", i, err)
		}
	}
}
