package keys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

func TestService_CreateKey(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		m := f.key(t, "acme")
		if _, err := uuid.Parse(m.KeyID); err != nil {
			t.Fatalf("key id %q: %v", m.KeyID, err)
		}
		if want := "arn:aws:kms:eu-west-1:111122223333:key/" + m.KeyID; m.Arn != want {
			t.Errorf("arn = %s, want %s", m.Arn, want)
		}
		if m.KeyState != keys.StateEnabled || !m.Enabled || m.CurrentVersion != 1 || m.AWSAccountID != "111122223333" {
			t.Errorf("metadata = %+v", m)
		}
		if !m.CreationDate.Equal(f.clock.Now()) {
			t.Errorf("creation date = %v, want %v", m.CreationDate, f.clock.Now())
		}
		pol, err := f.svc.GetKeyPolicy(ctx, "acme", m.KeyID, "default")
		if err != nil {
			t.Fatal(err)
		}
		if pol != keys.DefaultKeyPolicy("111122223333") {
			t.Errorf("policy = %s, want the default", pol)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(pol), &doc); err != nil {
			t.Fatalf("default policy is not JSON: %v", err)
		}
		if !regexp.MustCompile(`"arn:aws:iam::111122223333:root"`).MatchString(pol) {
			t.Errorf("default policy does not delegate to the account root: %s", pol)
		}
	})
	errCases := []struct {
		name   string
		tenant string
		in     keys.CreateKeyInput
		want   keys.Exception
		code   string
	}{
		{"ErrPolicyNotJSON", "acme", keys.CreateKeyInput{Policy: "{"}, keys.ExcMalformedPolicy, tenantml.EINVALID},
		{"ErrPolicyNotObject", "acme", keys.CreateKeyInput{Policy: `["x"]`}, keys.ExcMalformedPolicy, tenantml.EINVALID},
		{"ErrKeySpec", "acme", keys.CreateKeyInput{KeySpec: "RSA_2048"}, keys.ExcUnsupported, tenantml.EINVALID},
		{"ErrKeyUsage", "acme", keys.CreateKeyInput{KeyUsage: "SIGN_VERIFY"}, keys.ExcUnsupported, tenantml.EINVALID},
		{"ErrTagReserved", "acme", keys.CreateKeyInput{Tags: []keys.Tag{{Key: "aws:x", Value: "y"}}}, keys.ExcTag, tenantml.EINVALID},
		{"ErrTagEmpty", "acme", keys.CreateKeyInput{Tags: []keys.Tag{{Key: ""}}}, keys.ExcTag, tenantml.EINVALID},
		{"ErrNoTenant", "", keys.CreateKeyInput{}, keys.ExcInternal, tenantml.EINVALID},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.svc.CreateKey(ctx, tc.tenant, tc.in)
			if tc.code != tenantml.ErrorCode(err) {
				t.Fatalf("code = %q (%v), want %q", tenantml.ErrorCode(err), err, tc.code)
			}
			if tc.tenant != "" {
				wantExc(t, err, tc.want)
			}
		})
	}
}

func TestService_DescribeKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	if err := f.svc.CreateAlias(ctx, "acme", "alias/models", m.KeyID); err != nil {
		t.Fatal(err)
	}
	for _, ident := range []string{m.KeyID, m.Arn, "alias/models", "arn:aws:kms:eu-west-1:111122223333:alias/models"} {
		t.Run("OK/"+ident, func(t *testing.T) {
			got, err := f.svc.DescribeKey(ctx, "acme", ident)
			if err != nil {
				t.Fatal(err)
			}
			if got.KeyID != m.KeyID {
				t.Fatalf("key id = %s, want %s", got.KeyID, m.KeyID)
			}
		})
	}
	t.Run("ErrOtherTenantLooksMissing", func(t *testing.T) {
		other := f.key(t, "globex")
		missing := uuid.NewString()
		for _, pair := range [][2]string{{other.KeyID, missing}, {other.Arn, "arn:aws:kms:eu-west-1:111122223333:key/" + missing}} {
			_, errOther := f.svc.DescribeKey(ctx, "acme", pair[0])
			_, errMissing := f.svc.DescribeKey(ctx, "acme", pair[1])
			wantExc(t, errOther, keys.ExcNotFound)
			if a, b := notFoundShape(errOther, pair[0]), notFoundShape(errMissing, pair[1]); a != b {
				t.Fatalf("other tenant's key: %q; missing key: %q", a, b)
			}
		}
		// Same for another tenant's alias.
		if err := f.svc.CreateAlias(ctx, "globex", "alias/g", other.KeyID); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.DescribeKey(ctx, "acme", "alias/g")
		wantExc(t, err, keys.ExcNotFound)
	})
	errCases := map[string]string{
		"ErrGarbage":      "not-a-key",
		"ErrOtherAccount": "arn:aws:kms:eu-west-1:999999999999:key/" + m.KeyID,
		"ErrOtherRegion":  "arn:aws:kms:us-east-1:111122223333:key/" + m.KeyID,
		"ErrOtherService": "arn:aws:s3:eu-west-1:111122223333:key/" + m.KeyID,
		"ErrEmpty":        "",
	}
	for name, ident := range errCases {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.DescribeKey(ctx, "acme", ident)
			wantExc(t, err, keys.ExcNotFound)
		})
	}
}

func TestService_ListKeys(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a1, a2 := f.key(t, "acme"), f.key(t, "acme")
	f.key(t, "globex")
	got, err := f.svc.ListKeys(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("listed %d keys, want 2: %v", len(got), got)
	}
	seen := map[string]bool{}
	for _, k := range got {
		seen[k.KeyID] = true
	}
	if !seen[a1.KeyID] || !seen[a2.KeyID] {
		t.Fatalf("list %v misses acme's keys", got)
	}
	if _, err := f.svc.ListKeys(ctx, ""); tenantml.ErrorCode(err) != tenantml.EINVALID {
		t.Fatalf("empty tenant: %v", err)
	}
}

func TestService_EnableKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	enc := func() error {
		_, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
		return err
	}
	if err := f.svc.DisableKey(ctx, "acme", m.KeyID); err != nil {
		t.Fatal(err)
	}
	wantExc(t, enc(), keys.ExcDisabled)
	d, _ := f.svc.DescribeKey(ctx, "acme", m.KeyID)
	if d.KeyState != keys.StateDisabled || d.Enabled {
		t.Fatalf("state after disable = %s", d.KeyState)
	}
	if err := f.svc.EnableKey(ctx, "acme", m.KeyID); err != nil {
		t.Fatal(err)
	}
	if err := enc(); err != nil {
		t.Fatalf("encrypt after enable: %v", err)
	}
	t.Run("ErrOtherTenant", func(t *testing.T) {
		wantExc(t, f.svc.DisableKey(ctx, "globex", m.KeyID), keys.ExcNotFound)
	})
	t.Run("ErrPendingDeletion", func(t *testing.T) {
		if _, err := f.svc.ScheduleKeyDeletion(ctx, "acme", m.KeyID, 7); err != nil {
			t.Fatal(err)
		}
		wantExc(t, f.svc.EnableKey(ctx, "acme", m.KeyID), keys.ExcInvalidState)
		wantExc(t, f.svc.DisableKey(ctx, "acme", m.KeyID), keys.ExcInvalidState)
	})
}

func TestService_CreateAlias(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m, m2 := f.key(t, "acme"), f.key(t, "acme")
	other := f.key(t, "globex")
	if err := f.svc.CreateAlias(ctx, "acme", "alias/a", m.KeyID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, alias, target string
		want                keys.Exception
	}{
		{"ErrExists", "alias/a", m2.KeyID, keys.ExcAlreadyExists},
		{"ErrNoPrefix", "a", m.KeyID, keys.ExcInvalidAliasName},
		{"ErrReserved", "alias/aws/s3", m.KeyID, keys.ExcInvalidAliasName},
		{"ErrBadChars", "alias/a b", m.KeyID, keys.ExcInvalidAliasName},
		{"ErrTargetAlias", "alias/b", "alias/a", keys.ExcValidation},
		{"ErrTargetOtherTenant", "alias/c", other.KeyID, keys.ExcNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantExc(t, f.svc.CreateAlias(ctx, "acme", tc.alias, tc.target), tc.want)
		})
	}
	t.Run("SameNameOtherTenant", func(t *testing.T) {
		if err := f.svc.CreateAlias(ctx, "globex", "alias/a", other.KeyID); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.DescribeKey(ctx, "acme", "alias/a")
		if err != nil || got.KeyID != m.KeyID {
			t.Fatalf("acme alias/a = %v, %v", got.KeyID, err)
		}
	})
	t.Run("UpdateListDelete", func(t *testing.T) {
		if err := f.svc.UpdateAlias(ctx, "acme", "alias/a", m2.KeyID); err != nil {
			t.Fatal(err)
		}
		list, err := f.svc.ListAliases(ctx, "acme", m2.KeyID)
		if err != nil || len(list) != 1 || list[0].AliasName != "alias/a" || list[0].TargetKeyID != m2.KeyID {
			t.Fatalf("ListAliases = %+v, %v", list, err)
		}
		if list[0].AliasArn != "arn:aws:kms:eu-west-1:111122223333:alias/a" {
			t.Errorf("alias arn = %s", list[0].AliasArn)
		}
		if list, _ := f.svc.ListAliases(ctx, "acme", m.KeyID); len(list) != 0 {
			t.Fatalf("aliases of the old target = %v", list)
		}
		wantExc(t, f.svc.UpdateAlias(ctx, "acme", "alias/a", other.KeyID), keys.ExcNotFound)
		wantExc(t, f.svc.DeleteAlias(ctx, "globex", "alias/zzz"), keys.ExcNotFound)
		if err := f.svc.DeleteAlias(ctx, "acme", "alias/a"); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.DescribeKey(ctx, "acme", "alias/a")
		wantExc(t, err, keys.ExcNotFound)
		if _, err := f.svc.DescribeKey(ctx, "globex", "alias/a"); err != nil {
			t.Fatalf("globex's alias went with acme's: %v", err)
		}
	})
}

func TestService_EnsureKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m1, err := f.svc.EnsureKey(ctx, "acme", "alias/tenantml/artifacts", "artifacts")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := f.svc.EnsureKey(ctx, "acme", "alias/tenantml/artifacts", "artifacts")
	if err != nil {
		t.Fatal(err)
	}
	if m1.KeyID != m2.KeyID {
		t.Fatalf("second EnsureKey made a new key")
	}
	m3, err := f.svc.EnsureKey(ctx, "globex", "alias/tenantml/artifacts", "artifacts")
	if err != nil || m3.KeyID == m1.KeyID {
		t.Fatalf("globex key = %v, %v", m3.KeyID, err)
	}
}

func TestService_PutKeyPolicy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`
	if err := f.svc.PutKeyPolicy(ctx, "acme", m.KeyID, "default", pol); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetKeyPolicy(ctx, "acme", m.KeyID, "")
	if err != nil || got != pol {
		t.Fatalf("GetKeyPolicy = %q, %v", got, err)
	}
	big := `{"x":"` + string(make([]byte, keys.MaxPolicySize)) + `"}`
	cases := []struct {
		name, tenant, policyName, policy string
		want                             keys.Exception
	}{
		{"ErrNotJSON", "acme", "default", "nope", keys.ExcMalformedPolicy},
		{"ErrTooBig", "acme", "default", big, keys.ExcMalformedPolicy},
		{"ErrPolicyName", "acme", "other", pol, keys.ExcValidation},
		{"ErrOtherTenant", "globex", "default", pol, keys.ExcNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantExc(t, f.svc.PutKeyPolicy(ctx, tc.tenant, m.KeyID, tc.policyName, tc.policy), tc.want)
		})
	}
	if _, err := f.svc.GetKeyPolicy(ctx, "globex", m.KeyID, "default"); keys.ExceptionOf(err) != keys.ExcNotFound {
		t.Fatalf("other tenant read the policy: %v", err)
	}
}

func TestService_TagResource(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	if err := f.svc.TagResource(ctx, "acme", m.KeyID, []keys.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: "2"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.TagResource(ctx, "acme", m.KeyID, []keys.Tag{{Key: "b", Value: "3"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UntagResource(ctx, "acme", m.KeyID, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.ListResourceTags(ctx, "acme", m.KeyID)
	if err != nil || len(got) != 2 || got[0] != (keys.Tag{Key: "TenantID", Value: "acme"}) || got[1] != (keys.Tag{Key: "b", Value: "3"}) {
		t.Fatalf("tags = %v, %v", got, err)
	}
	t.Run("ErrOtherTenantTag", func(t *testing.T) {
		wantExc(t, f.svc.TagResource(ctx, "acme", m.KeyID, []keys.Tag{{Key: "tenantid", Value: "globex"}}), keys.ExcTag)
		_, err := f.svc.CreateKey(ctx, "acme", keys.CreateKeyInput{Tags: []keys.Tag{{Key: "TenantID", Value: "globex"}}})
		wantExc(t, err, keys.ExcTag)
	})
	t.Run("ErrUntagTenant", func(t *testing.T) {
		wantExc(t, f.svc.UntagResource(ctx, "acme", m.KeyID, []string{"TenantID"}), keys.ExcTag)
	})
	t.Run("ErrTooMany", func(t *testing.T) {
		var many []keys.Tag
		for i := range 50 {
			many = append(many, keys.Tag{Key: fmt.Sprintf("k%d", i)})
		}
		wantExc(t, f.svc.TagResource(ctx, "acme", m.KeyID, many), keys.ExcTag)
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		wantExc(t, f.svc.TagResource(ctx, "globex", m.KeyID, []keys.Tag{{Key: "x"}}), keys.ExcNotFound)
	})
}

func TestService_New(t *testing.T) {
	f := newFixture(t)
	cases := map[string]keys.Config{
		"ErrNoStore":    {KEK: nil, Store: f.store},
		"ErrBadAccount": {Store: f.store, KEK: dummyKEK{}, Account: "12"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := keys.New(cfg); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

type dummyKEK struct{}

func (dummyKEK) EncryptWithContext(_ context.Context, pt, _ []byte) ([]byte, error) { return pt, nil }
func (dummyKEK) DecryptWithContext(_ context.Context, ct, _ []byte) ([]byte, error) { return ct, nil }

func TestService_KeyOwner(t *testing.T) {
	ctx := context.Background()
	svc := newFixture(t).svc
	acme, err := svc.CreateKey(ctx, "acme", keys.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	globex, err := svc.CreateKey(ctx, "globex", keys.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateAlias(ctx, "acme", "alias/models", acme.KeyID); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, id, want string
	}{
		{"ID", acme.KeyID, "acme"},
		{"ARN", globex.Arn, "globex"},
		{"UppercaseID", strings.ToUpper(acme.KeyID), "acme"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := svc.KeyOwner(ctx, tc.id); err != nil || got != tc.want {
				t.Fatalf("KeyOwner(%s) = %q, %v; want %q", tc.id, got, err, tc.want)
			}
		})
	}
	for name, id := range map[string]string{
		"ErrAlias":        "alias/models",
		"ErrAliasARN":     "arn:aws:kms:eu-west-1:111122223333:alias/models",
		"ErrOtherAccount": "arn:aws:kms:eu-west-1:999999999999:key/" + acme.KeyID,
		"ErrMissing":      "00000000-0000-0000-0000-000000000000",
		"ErrNotAnID":      "../../etc",
		"ErrEmpty":        "",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := svc.KeyOwner(ctx, id); keys.ExceptionOf(err) != keys.ExcNotFound {
				t.Fatalf("KeyOwner(%q) = %v, want NotFoundException", id, err)
			}
		})
	}
	if _, err := svc.Destroy(ctx, "acme", acme.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.KeyOwner(ctx, acme.KeyID); keys.ExceptionOf(err) != keys.ExcNotFound {
		t.Fatalf("destroyed key: %v", err)
	}
}
