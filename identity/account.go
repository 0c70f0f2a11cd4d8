package identity

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// Account is an AWS account of the deployment beyond its primary one: an
// IAM namespace of its own (users, groups, roles, policies, providers),
// with its own root user. The primary account (the configured account
// ID) is not stored: it exists in every deployment.
type Account struct {
	// ID is the 12-digit account ID.
	ID string
	// Name is the deployment-unique name the account was created with
	// (e.g. "dev", "staging", "prod").
	Name string
	// RootAccessKeyID is the root user's access key ID; its secret is a
	// platform secret sealed under the master key (AccountRootSecretName).
	RootAccessKeyID string
	// CreatedAt is the creation time.
	CreatedAt time.Time
}

// AccountStore persists the deployment's accounts (a platform table: only
// the operator path reads or writes it).
type AccountStore interface {
	// CreateAccount stores a; ECONFLICT when its ID or name (compared
	// case-insensitively) is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// GetAccount returns the account with ID id, or ENOTFOUND.
	GetAccount(ctx context.Context, id string) (*Account, error)
	// FindAccountByRootKey returns the account whose root access key ID is
	// keyID, or ENOTFOUND.
	FindAccountByRootKey(ctx context.Context, keyID string) (*Account, error)
	// ListAccounts returns every stored account, ordered by name.
	ListAccounts(ctx context.Context) ([]*Account, error)
	// SetAccountRootKey replaces an account's root access key ID if it is
	// still old (compare and swap); it reports whether it replaced.
	SetAccountRootKey(ctx context.Context, id, old, keyID string) (bool, error)
}

// accountNamePattern is an account alias as IAM has it: 3 to 63 lower-case
// letters, digits and hyphens, beginning and ending with a letter or digit.
var accountNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// ValidateAccountName checks an account's name.
func ValidateAccountName(name string) error {
	if !accountNamePattern.MatchString(name) {
		return tenantml.Errorf(tenantml.EINVALID, "account name %q must be 3 to 63 lower-case letters, digits and hyphens, beginning and ending with a letter or digit", truncate(name))
	}
	return nil
}

// AccountRootSecretName is the platform secret holding the root key of a
// further account.
func AccountRootSecretName(id string) string { return rootSecretName + "/" + id }

// Accounts creates and lists the deployment's accounts and opens their
// root keys. Primary is the configured account: it is listed first, with
// name PrimaryAccountName, and never stored.
type Accounts struct {
	Store   AccountStore
	Secrets keys.SecretStore
	KEK     keys.KEK
	Primary string
	// Rand supplies account IDs and root keys; nil means crypto/rand.
	Rand io.Reader
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// PrimaryAccountName is the name the primary account is listed under.
const PrimaryAccountName = "primary"

func (s *Accounts) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// Create makes the account name with a fresh 12-digit ID and its root
// key, which it returns: the only time the secret is shown.
func (s *Accounts) Create(ctx context.Context, name string) (*Account, RootKey, error) {
	if err := ValidateAccountName(name); err != nil {
		return nil, RootKey{}, err
	}
	if name == PrimaryAccountName {
		return nil, RootKey{}, tenantml.Errorf(tenantml.ECONFLICT, "account %s already exists", name)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	for range maxIDDraws {
		id, err := newAccountID(s.rand())
		if err != nil {
			return nil, RootKey{}, err
		}
		if id == s.Primary {
			continue
		}
		keyID, secret, err := NewAccessKey(s.rand())
		if err != nil {
			return nil, RootKey{}, err
		}
		a := &Account{ID: id, Name: name, RootAccessKeyID: keyID, CreatedAt: now().UTC()}
		// The sealed secret first: an account row never names a root key
		// that is not stored. A secret left by a failed creation keeps
		// its ID from being drawn again; it is sealed and names nothing.
		root := RootKey{AccessKeyID: keyID, Secret: []byte(secret)}
		err = s.storeRoot(ctx, id, root)
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			continue // the ID is taken
		}
		if err != nil {
			return nil, RootKey{}, err
		}
		err = s.Store.CreateAccount(ctx, a)
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			if _, gerr := s.Store.GetAccount(ctx, id); gerr == nil {
				continue // the ID is taken
			}
			return nil, RootKey{}, tenantml.Errorf(tenantml.ECONFLICT, "account %s already exists", name)
		}
		if err != nil {
			return nil, RootKey{}, fmt.Errorf("create account: %w", err)
		}
		return a, root, nil
	}
	return nil, RootKey{}, fmt.Errorf("create account: no free account ID in %d draws", maxIDDraws)
}

// maxIDDraws bounds the account IDs Create draws before it gives up (with
// 9 * 10^11 IDs, a second draw is already rare).
const maxIDDraws = 16

func (s *Accounts) storeRoot(ctx context.Context, id string, root RootKey) error {
	plain, err := json.Marshal(rootRecord{AccessKeyID: root.AccessKeyID, Secret: string(root.Secret)})
	if err != nil {
		return fmt.Errorf("encode root credentials: %w", err)
	}
	name := AccountRootSecretName(id)
	sealed, err := s.KEK.EncryptWithContext(ctx, plain, keys.PlatformSecretAAD(name))
	if err != nil {
		return fmt.Errorf("seal root credentials: %w", err)
	}
	stored, err := s.Secrets.PutSecretIfAbsent(ctx, name, sealed)
	if err != nil {
		return fmt.Errorf("store root credentials: %w", err)
	}
	if !stored {
		return tenantml.Errorf(tenantml.ECONFLICT, "root credentials of account %s already exist", id)
	}
	return nil
}

// List returns the primary account, then the stored ones by name.
func (s *Accounts) List(ctx context.Context) ([]*Account, error) {
	stored, err := s.Store.ListAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return append([]*Account{{ID: s.Primary, Name: PrimaryAccountName}}, stored...), nil
}

// Get returns the account with ID id (the primary one included), or
// ENOTFOUND.
func (s *Accounts) Get(ctx context.Context, id string) (*Account, error) {
	if id == s.Primary {
		return &Account{ID: s.Primary, Name: PrimaryAccountName}, nil
	}
	return s.Store.GetAccount(ctx, id)
}

// Root returns the root key of the further account whose root access key
// ID is keyID: ENOTFOUND when no account has it.
func (s *Accounts) Root(ctx context.Context, keyID string) (*Account, RootKey, error) {
	a, err := s.Store.FindAccountByRootKey(ctx, keyID)
	if err != nil {
		return nil, RootKey{}, err
	}
	sealed, err := s.Secrets.GetSecret(ctx, AccountRootSecretName(a.ID))
	if err != nil {
		return nil, RootKey{}, fmt.Errorf("read root credentials of account %s: %w", a.ID, err)
	}
	k, err := openSealedRoot(ctx, s.KEK, AccountRootSecretName(a.ID), sealed)
	if err != nil {
		return nil, RootKey{}, err
	}
	if k.AccessKeyID != keyID {
		return nil, RootKey{}, tenantml.Errorf(tenantml.ENOTFOUND, "no account has root key %s", keyID)
	}
	return a, k, nil
}

// openSealedRoot opens the root key sealed under name.
func openSealedRoot(ctx context.Context, kek keys.KEK, name string, sealed []byte) (RootKey, error) {
	plain, err := kek.DecryptWithContext(ctx, sealed, keys.PlatformSecretAAD(name))
	if err != nil {
		return RootKey{}, fmt.Errorf("unseal root credentials (is this the master key of this data directory?): %w", err)
	}
	var rec rootRecord
	if err := json.Unmarshal(plain, &rec); err != nil {
		return RootKey{}, fmt.Errorf("decode root credentials: %w", err)
	}
	return RootKey{AccessKeyID: rec.AccessKeyID, Secret: []byte(rec.Secret)}, nil
}

// newAccountID draws a 12-digit account ID that does not begin with 0
// (so that it never reads as the default 000000000000).
func newAccountID(r io.Reader) (string, error) {
	n, err := rand.Int(r, big.NewInt(900_000_000_000))
	if err != nil {
		return "", fmt.Errorf("generate account ID: %w", err)
	}
	return fmt.Sprintf("%012d", n.Int64()+100_000_000_000), nil
}

// RotateRoot replaces the root key of the further account id, offline as
// RotateRoot does for the primary one: with configured when its
// AccessKeyID is set, else with a generated key (generated=true, to be
// printed once). The stored secret must open with s.KEK. The sealed secret
// is replaced first (compare and swap), then the account's root key ID; a
// rotation interrupted between the two is completed by the next one.
// Servers look account roots up per request (with a short cache), so the
// old key stops working within the cache's lifetime.
func (s *Accounts) RotateRoot(ctx context.Context, secrets RotatableSecrets, id string, configured RootKey) (key RootKey, generated bool, err error) {
	a, err := s.Store.GetAccount(ctx, id)
	if err != nil {
		return RootKey{}, false, fmt.Errorf("account %s: %w", id, err)
	}
	name := AccountRootSecretName(id)
	old, err := secrets.GetSecret(ctx, name)
	if err != nil {
		return RootKey{}, false, fmt.Errorf("read root credentials of account %s: %w", id, err)
	}
	current, err := openSealedRoot(ctx, s.KEK, name, old)
	if err != nil {
		return RootKey{}, false, err
	}
	key = configured
	if key.AccessKeyID == "" {
		generated = true
		kid, secret, err := NewAccessKey(s.rand())
		if err != nil {
			return RootKey{}, false, err
		}
		key = RootKey{AccessKeyID: kid, Secret: []byte(secret)}
	}
	if key.AccessKeyID == current.AccessKeyID {
		return RootKey{}, false, fmt.Errorf("the configured root credentials are the current ones of account %s: nothing to rotate", id)
	}
	plain, err := json.Marshal(rootRecord{AccessKeyID: key.AccessKeyID, Secret: string(key.Secret)})
	if err != nil {
		return RootKey{}, false, fmt.Errorf("encode root credentials: %w", err)
	}
	sealed, err := s.KEK.EncryptWithContext(ctx, plain, keys.PlatformSecretAAD(name))
	if err != nil {
		return RootKey{}, false, fmt.Errorf("seal root credentials: %w", err)
	}
	replaced, err := secrets.ReplaceSecret(ctx, name, old, sealed)
	if err != nil {
		return RootKey{}, false, fmt.Errorf("store root credentials: %w", err)
	}
	if !replaced {
		return RootKey{}, false, fmt.Errorf("the root credentials of account %s changed while rotating (another rotation?): nothing was written; run it again", id)
	}
	// a.RootAccessKeyID is the current key's, or (after an interrupted
	// rotation) an earlier one's.
	ok, err := s.Store.SetAccountRootKey(ctx, id, a.RootAccessKeyID, key.AccessKeyID)
	if err != nil {
		return RootKey{}, false, fmt.Errorf("record root key of account %s: %w (run the rotation again)", id, err)
	}
	if !ok {
		return RootKey{}, false, fmt.Errorf("account %s changed while rotating (another rotation?): run it again", id)
	}
	return key, generated, nil
}
