package keys_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/keys"
)

// TestService_InAccount: a key belongs to the account that created it; an
// account's view finds its own keys by ID and alias, another account's
// only by ARN (decided by the key policy elsewhere), and lists only its
// own. Keys of the primary account are the service's own.
func TestService_InAccount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const devID = "222233334444"
	dev, staging := f.svc.InAccount(devID), f.svc.InAccount("555566667777")
	if f.svc.InAccount("not-an-account") != f.svc || f.svc.InAccount(f.svc.Account()) != f.svc {
		t.Error("InAccount of an invalid or the own account is not the service itself")
	}
	primary := f.key(t, "acme")
	m, err := dev.CreateKey(ctx, "acme", keys.CreateKeyInput{Description: "dev"})
	if err != nil {
		t.Fatal(err)
	}
	if m.AWSAccountID != devID || !strings.HasPrefix(m.Arn, "arn:aws:kms:eu-west-1:"+devID+":key/") {
		t.Fatalf("dev key %+v", m)
	}
	if pol, err := dev.GetKeyPolicy(ctx, "acme", m.KeyID, "default"); err != nil || !strings.Contains(pol, "arn:aws:iam::"+devID+":root") {
		t.Errorf("dev key's default policy: %s, %v", pol, err)
	}
	if err := dev.CreateAlias(ctx, "acme", "alias/dev-models", m.KeyID); err != nil {
		t.Fatal(err)
	}
	t.Run("OwnAccount", func(t *testing.T) {
		for _, id := range []string{m.KeyID, m.Arn, "alias/dev-models", "arn:aws:kms:eu-west-1:" + devID + ":alias/dev-models"} {
			if _, err := dev.DescribeKey(ctx, "acme", id); err != nil {
				t.Errorf("dev: DescribeKey(%s) = %v", id, err)
			}
		}
	})
	t.Run("OtherAccountByIDOrAlias", func(t *testing.T) {
		for _, svc := range []*keys.Service{staging, f.svc} {
			for _, id := range []string{m.KeyID, "alias/dev-models"} {
				_, err := svc.DescribeKey(ctx, "acme", id)
				wantExc(t, err, keys.ExcNotFound)
			}
			if err := svc.CreateAlias(ctx, "acme", "alias/stolen", m.KeyID); keys.ExceptionOf(err) != keys.ExcNotFound {
				t.Errorf("alias to another account's key: %v", err)
			}
		}
		_, err := dev.DescribeKey(ctx, "acme", primary.KeyID)
		wantExc(t, err, keys.ExcNotFound)
	})
	t.Run("OtherAccountByARN", func(t *testing.T) {
		got, err := staging.DescribeKey(ctx, "acme", m.Arn)
		if err != nil || got.KeyID != m.KeyID {
			t.Errorf("staging: DescribeKey(dev ARN) = %+v, %v", got, err)
		}
		// An ARN naming the key under the wrong account is a missing key.
		_, err = staging.DescribeKey(ctx, "acme", strings.Replace(m.Arn, devID, "555566667777", 1))
		wantExc(t, err, keys.ExcNotFound)
		// The tenant still bounds every lookup.
		_, err = staging.DescribeKey(ctx, "globex", m.Arn)
		wantExc(t, err, keys.ExcNotFound)
	})
	t.Run("Lists", func(t *testing.T) {
		for _, c := range []struct {
			svc  *keys.Service
			want string
		}{{dev, m.KeyID}, {f.svc, primary.KeyID}, {staging, ""}} {
			list, err := c.svc.ListKeys(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if (c.want == "" && len(list) != 0) || (c.want != "" && (len(list) != 1 || list[0].KeyID != c.want)) {
				t.Errorf("%s: ListKeys = %+v, want %q", c.svc.Account(), list, c.want)
			}
		}
		as, err := staging.ListAliases(ctx, "acme", "")
		if err != nil || len(as) != 0 {
			t.Errorf("staging: ListAliases = %+v, %v", as, err)
		}
		as, err = dev.ListAliases(ctx, "acme", "")
		if err != nil || len(as) != 1 || as[0].AliasArn != "arn:aws:kms:eu-west-1:"+devID+":alias/dev-models" {
			t.Errorf("dev: ListAliases = %+v, %v", as, err)
		}
	})
	t.Run("CiphertextNamesItsKey", func(t *testing.T) {
		enc, err := dev.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if acct, err := staging.KeyAccount(ctx, "acme", m.KeyID); err != nil || acct != devID {
			t.Errorf("KeyAccount = %q, %v", acct, err)
		}
		// Decrypting follows the ciphertext to its key; naming the key by
		// ID in another account does not.
		if _, err := staging.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err != nil {
			t.Errorf("decrypt by ciphertext: %v", err)
		}
		_, err = staging.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyID: m.KeyID})
		wantExc(t, err, keys.ExcNotFound)
	})
}
