package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam/arn"
)

// Config configures a Service.
type Config struct {
	Store Store // required
	KEK   KEK   // required
	// Region and Account appear in key ARNs. Defaults: "us-east-1" and
	// "000000000000".
	Region  string
	Account string
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of key IDs and data keys; default crypto/rand.
	Rand io.Reader
	// KeysetCacheSize bounds the number of built keyset primitives kept in
	// memory, so the KEK unwrap, keyset parse and primitive construction
	// happen once per key version rather than on every cryptographic call
	// (LRU eviction). 0 means DefaultKeysetCacheSize; negative disables
	// the cache. The key record is still read, and the key's state
	// checked, on every call; see the package documentation.
	KeysetCacheSize int
}

// Service is the per-tenant key management service. It is safe for
// concurrent use; concurrent changes to one key are serialised by the
// store's revisions (a lost race is retried, then reported as
// ConflictException).
type Service struct {
	store   Store
	kek     KEK
	region  string
	account string
	// primary is the account of keys that record none (made before keys
	// recorded their account): the configured one, also in InAccount views.
	primary string
	now     func() time.Time
	rand    io.Reader
	cache   *primitiveCache // nil when disabled
}

// New returns a Service with cfg's defaults filled in.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.KEK == nil {
		return nil, fmt.Errorf("new key service: store and kek are required")
	}
	s := &Service{store: cfg.Store, kek: cfg.KEK, region: cfg.Region, account: cfg.Account, now: cfg.Now, rand: cfg.Rand, cache: newPrimitiveCache(cfg.KeysetCacheSize)}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.account == "" {
		s.account = "000000000000"
	}
	if !accountRE.MatchString(s.account) {
		return nil, fmt.Errorf("new key service: account %q is not 12 digits", s.account)
	}
	s.primary = s.account
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s, nil
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// Region returns the region named in key ARNs.
func (s *Service) Region() string { return s.region }

// Account returns the account named in key ARNs.
func (s *Service) Account() string { return s.account }

// InAccount returns the service as account acct sees it: keys it creates
// belong to acct, and a key ID or alias names a key of acct only (a key
// ARN names a key of the ARN's account, as on AWS, so that a key policy can
// grant it to another account). The view shares s's store and caches. An
// acct that is not 12 digits gives s itself.
func (s *Service) InAccount(acct string) *Service {
	if !accountRE.MatchString(acct) || acct == s.account {
		return s
	}
	v := *s
	v.account = acct
	return &v
}

// KeyAccount returns the account of tenant's key id (a bare key ID, as a
// ciphertext records it), or NotFoundException.
func (s *Service) KeyAccount(ctx context.Context, tenant, id string) (string, error) {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return "", errNotFound(id)
	}
	l, err := s.loadID(ctx, tenant, strings.ToLower(id), "", id)
	if err != nil {
		return "", err
	}
	return l.doc.account(s.primary), nil
}

// KeyARN returns the ARN of key id.
func (s *Service) KeyARN(id string) string {
	return arn.New("kms", s.region, s.account, "key/"+id).String()
}

// AliasARN returns the ARN of alias name ("alias/...").
func (s *Service) AliasARN(name string) string {
	return arn.New("kms", s.region, s.account, name).String()
}

// loaded is a key record with its decoded metadata.
type loaded struct {
	rec *Record
	doc *keyDoc
	// epoch is the cache's eviction epoch read before the record was.
	epoch uint64
	// rotated is the primitive of the keyset rotate wrote into rec, to
	// cache once the record is stored.
	rotated tink.AEAD
}

func checkTenant(tenant string) error {
	if tenant == "" {
		return tenantml.Errorf(tenantml.EINVALID, "tenant is required")
	}
	return nil
}

// resolveID turns a key ID, key ARN, alias name or alias ARN into a key ID
// of tenant and the account the key must belong to: the ARN's, else s's.
// Anything that does not name one of tenant's keys is NotFoundException.
func (s *Service) resolveID(ctx context.Context, tenant, ident string) (string, string, error) {
	id, err := s.resolveName(ctx, tenant, ident)
	acct := s.account
	if a := arn.AccountOf(ident); a != "" {
		acct = a
	}
	return id, acct, err
}

func (s *Service) resolveName(ctx context.Context, tenant, ident string) (string, error) {
	if err := checkTenant(tenant); err != nil {
		return "", err
	}
	name := ident
	if strings.HasPrefix(ident, "arn:") {
		a, err := arn.Parse(ident)
		if err != nil || a.Partition != "aws" || a.Service != "kms" || a.Region != s.region || !accountRE.MatchString(a.AccountID) {
			return "", errNotFound(ident)
		}
		name = a.Resource
		switch {
		case strings.HasPrefix(name, "key/"):
			name = strings.TrimPrefix(name, "key/")
		case strings.HasPrefix(name, "alias/"):
		default:
			return "", errNotFound(ident)
		}
	}
	if strings.HasPrefix(name, "alias/") {
		a, err := s.store.GetAlias(ctx, tenant, name)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return "", errNotFound(ident)
		}
		if err != nil {
			return "", internalErr("get alias", err)
		}
		return a.KeyID, nil
	}
	if _, err := uuid.Parse(name); err != nil || len(name) != 36 {
		return "", errNotFound(ident)
	}
	return strings.ToLower(name), nil
}

func (s *Service) load(ctx context.Context, tenant, ident string) (*loaded, error) {
	id, acct, err := s.resolveID(ctx, tenant, ident)
	if err != nil {
		return nil, err
	}
	return s.loadID(ctx, tenant, id, acct, ident)
}

// loadID loads tenant's key id, which must belong to account acct ("" for
// any: a ciphertext names its key wherever it is).
func (s *Service) loadID(ctx context.Context, tenant, id, acct, ident string) (*loaded, error) {
	epoch := s.cache.currentEpoch()
	rec, err := s.store.GetKey(ctx, tenant, id)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		// Destroyed, perhaps by another process: forget its material here too.
		s.cache.forget(keyRef{tenant, id})
		return nil, errNotFound(ident)
	}
	if err != nil {
		return nil, internalErr("get key", err)
	}
	if rec.Tenant != tenant {
		// A store bug must not leak another tenant's key.
		return nil, errNotFound(ident)
	}
	doc, err := decodeDoc(rec.Meta)
	if err != nil {
		return nil, internalErr("load key", err)
	}
	if acct != "" && doc.account(s.primary) != acct {
		// Another account's key, named by ID or alias: as missing.
		return nil, errNotFound(ident)
	}
	return &loaded{rec: rec, doc: doc, epoch: epoch}, nil
}

const maxUpdateAttempts = 5

// update loads the key, applies fn and stores the result, retrying when a
// concurrent change wins the revision race.
func (s *Service) update(ctx context.Context, tenant, ident string, fn func(*loaded) error) (*loaded, error) {
	id, acct, err := s.resolveID(ctx, tenant, ident)
	if err != nil {
		return nil, err
	}
	for range maxUpdateAttempts {
		l, err := s.loadID(ctx, tenant, id, acct, ident)
		if err != nil {
			return nil, err
		}
		if err := fn(l); err != nil {
			return nil, err
		}
		if l.rec.Meta, err = encodeDoc(l.doc); err != nil {
			return nil, internalErr("encode key", err)
		}
		rev, err := s.store.PutKey(ctx, l.rec)
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, internalErr("put key", err)
		}
		l.rec.Revision = rev
		return l, nil
	}
	return nil, kmsErr(ExcConflict, "key %q changed concurrently; retry", ident)
}

// keysetAD binds a wrapped keyset to its tenant and key ID.
func keysetAD(tenant, id string) []byte {
	var b bytes.Buffer
	b.WriteString("tenantml/keys/keyset/v1")
	writeLP(&b, tenant)
	writeLP(&b, id)
	return b.Bytes()
}

func writeLP(b *bytes.Buffer, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	b.Write(n[:])
	b.WriteString(s)
}

func (s *Service) wrap(ctx context.Context, tenant, id string, h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	if err := h.WriteWithContext(ctx, keyset.NewBinaryWriter(&buf), s.kek, keysetAD(tenant, id)); err != nil {
		return nil, fmt.Errorf("wrap keyset: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *Service) unwrap(ctx context.Context, l *loaded) (*keyset.Handle, error) {
	h, err := keyset.ReadWithContext(ctx, keyset.NewBinaryReader(bytes.NewReader(l.rec.Keyset)), s.kek, keysetAD(l.rec.Tenant, l.rec.ID))
	if err != nil {
		return nil, internalErr("unwrap keyset", err)
	}
	return h, nil
}

// primitive returns the AEAD of a loaded key's keyset, from the cache when
// it holds the primitive of this tenant's key built from exactly the
// wrapped keyset in l.rec. The caller has checked the key's state.
func (s *Service) primitive(ctx context.Context, l *loaded) (tink.AEAD, error) {
	ref, digest := keyRef{l.rec.Tenant, l.rec.ID}, sha256.Sum256(l.rec.Keyset)
	if a, ok := s.cache.get(ref, digest); ok {
		return a, nil
	}
	h, err := s.unwrap(ctx, l)
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, internalErr("keyset primitive", err)
	}
	s.cache.put(ref, digest, a, l.epoch)
	return a, nil
}

// cacheRotated caches the primitive rotate built for the keyset now stored
// in l.rec.
func (s *Service) cacheRotated(l *loaded) {
	if l.rotated != nil {
		s.cache.put(keyRef{l.rec.Tenant, l.rec.ID}, sha256.Sum256(l.rec.Keyset), l.rotated, l.epoch)
	}
}

// CreateKeyInput is CreateKey's request.
type CreateKeyInput struct {
	Description string
	// Policy is the key policy JSON; empty means DefaultKeyPolicy.
	Policy string
	Tags   []Tag
	// KeyUsage and KeySpec may be empty or the only supported values,
	// ENCRYPT_DECRYPT and SYMMETRIC_DEFAULT.
	KeyUsage string
	KeySpec  string
}

// CreateKey creates an enabled symmetric key for tenant.
func (s *Service) CreateKey(ctx context.Context, tenant string, in CreateKeyInput) (KeyMetadata, error) {
	if err := checkTenant(tenant); err != nil {
		return KeyMetadata{}, err
	}
	if in.KeyUsage != "" && in.KeyUsage != KeyUsageEncryptDecrypt {
		return KeyMetadata{}, kmsErr(ExcUnsupported, "only KeyUsage %s is supported", KeyUsageEncryptDecrypt)
	}
	if in.KeySpec != "" && in.KeySpec != KeySpecSymmetric {
		return KeyMetadata{}, kmsErr(ExcUnsupported, "only KeySpec %s is supported", KeySpecSymmetric)
	}
	if len(in.Description) > 8192 {
		return KeyMetadata{}, kmsErr(ExcValidation, "description exceeds 8192 characters")
	}
	policy := in.Policy
	if policy == "" {
		policy = DefaultKeyPolicy(s.account)
	}
	if err := validatePolicy(policy); err != nil {
		return KeyMetadata{}, err
	}
	if err := validateTags(tenant, in.Tags); err != nil {
		return KeyMetadata{}, err
	}
	// Every key carries its tenant as the TenantID tag
	// (aws:ResourceTag/TenantID), so that ABAC policies see it.
	tags := mergeTags([]Tag{{Key: tenantTagKey, Value: tenant}}, in.Tags)
	if len(tags) > maxTags {
		return KeyMetadata{}, kmsErr(ExcTag, "at most %d tags", maxTags)
	}
	u, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		return KeyMetadata{}, internalErr("key id", err)
	}
	id := u.String()
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return KeyMetadata{}, internalErr("new keyset", err)
	}
	primary, err := h.Primary()
	if err != nil {
		return KeyMetadata{}, internalErr("new keyset", err)
	}
	wrapped, err := s.wrap(ctx, tenant, id, h)
	if err != nil {
		return KeyMetadata{}, internalErr("create key", err)
	}
	now := s.now().UTC()
	doc := &keyDoc{
		Meta: KeyMetadata{
			AWSAccountID:         s.account,
			KeyID:                id,
			Arn:                  s.KeyARN(id),
			CreationDate:         now,
			Enabled:              true,
			Description:          in.Description,
			KeyUsage:             KeyUsageEncryptDecrypt,
			KeySpec:              KeySpecSymmetric,
			KeyState:             StateEnabled,
			Origin:               OriginAWSKMS,
			KeyManager:           KeyManagerCustomer,
			EncryptionAlgorithms: []string{AlgorithmSymmetric},
			CurrentVersion:       1,
		},
		Policy:   policy,
		Tags:     tags,
		Versions: []versionDoc{{Number: 1, TinkID: primary.KeyID(), Created: now}},
	}
	meta, err := encodeDoc(doc)
	if err != nil {
		return KeyMetadata{}, internalErr("encode key", err)
	}
	if _, err := s.store.PutKey(ctx, &Record{Tenant: tenant, ID: id, Meta: meta, Keyset: wrapped}); err != nil {
		return KeyMetadata{}, internalErr("put key", err)
	}
	return doc.metadata(), nil
}

// DescribeKey returns the metadata of the key named by keyID (key ID, key
// ARN, alias name or alias ARN).
func (s *Service) DescribeKey(ctx context.Context, tenant, keyID string) (KeyMetadata, error) {
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return KeyMetadata{}, err
	}
	return l.doc.metadata(), nil
}

// ListKeys lists tenant's keys, sorted by key ID.
func (s *Service) ListKeys(ctx context.Context, tenant string) ([]KeyListEntry, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	recs, err := s.store.ListKeys(ctx, tenant)
	if err != nil {
		return nil, internalErr("list keys", err)
	}
	out := make([]KeyListEntry, 0, len(recs))
	for _, r := range recs {
		if r.Tenant != tenant {
			continue
		}
		doc, err := decodeDoc(r.Meta)
		if err != nil {
			return nil, internalErr("list keys", err)
		}
		if doc.account(s.primary) != s.account {
			continue // another account's key
		}
		out = append(out, KeyListEntry{KeyID: r.ID, KeyArn: s.KeyARN(r.ID)})
	}
	return out, nil
}

// ListKeyVersions lists the versions of a key's material, oldest first.
func (s *Service) ListKeyVersions(ctx context.Context, tenant, keyID string) ([]Version, error) {
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return nil, err
	}
	return l.doc.versions(), nil
}

// EnableKey sets an Enabled or Disabled key to Enabled.
func (s *Service) EnableKey(ctx context.Context, tenant, keyID string) error {
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if l.doc.Meta.KeyState == StatePendingDeletion {
			return kmsErr(ExcInvalidState, "key %s is pending deletion", l.rec.ID)
		}
		l.doc.Meta.KeyState, l.doc.Meta.Enabled = StateEnabled, true
		return nil
	})
	return err
}

// DisableKey sets an Enabled or Disabled key to Disabled: it then refuses
// every cryptographic operation.
func (s *Service) DisableKey(ctx context.Context, tenant, keyID string) error {
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if l.doc.Meta.KeyState == StatePendingDeletion {
			return kmsErr(ExcInvalidState, "key %s is pending deletion", l.rec.ID)
		}
		l.doc.Meta.KeyState, l.doc.Meta.Enabled = StateDisabled, false
		return nil
	})
	return err
}

// PutKeyPolicy replaces the key's policy. policyName must be "default" (or
// empty); policy must be a JSON object of at most MaxPolicySize bytes.
func (s *Service) PutKeyPolicy(ctx context.Context, tenant, keyID, policyName, policy string) error {
	if policyName != "" && policyName != DefaultPolicyName {
		return kmsErr(ExcValidation, "policy name must be %q", DefaultPolicyName)
	}
	if err := validatePolicy(policy); err != nil {
		return err
	}
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		l.doc.Policy = policy
		return nil
	})
	return err
}

// GetKeyPolicy returns the key's policy.
func (s *Service) GetKeyPolicy(ctx context.Context, tenant, keyID, policyName string) (string, error) {
	if policyName != "" && policyName != DefaultPolicyName {
		return "", kmsErr(ExcNotFound, "policy %q does not exist", policyName)
	}
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return "", err
	}
	return l.doc.Policy, nil
}

// TagResource adds or overwrites tags on a key.
func (s *Service) TagResource(ctx context.Context, tenant, keyID string, tags []Tag) error {
	if err := validateTags(tenant, tags); err != nil {
		return err
	}
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		merged := mergeTags(l.doc.Tags, tags)
		if len(merged) > maxTags {
			return kmsErr(ExcTag, "at most %d tags", maxTags)
		}
		l.doc.Tags = merged
		return nil
	})
	return err
}

// UntagResource removes the tags with the given keys from a key.
func (s *Service) UntagResource(ctx context.Context, tenant, keyID string, tagKeys []string) error {
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		drop := make(map[string]bool, len(tagKeys))
		for _, k := range tagKeys {
			if strings.EqualFold(k, tenantTagKey) {
				return kmsErr(ExcTag, "the %s tag of a key is its tenant: it cannot be removed", tenantTagKey)
			}
			drop[k] = true
		}
		kept := l.doc.Tags[:0:0]
		for _, t := range l.doc.Tags {
			if !drop[t.Key] {
				kept = append(kept, t)
			}
		}
		l.doc.Tags = kept
		return nil
	})
	return err
}

// ListResourceTags returns a key's tags sorted by key.
func (s *Service) ListResourceTags(ctx context.Context, tenant, keyID string) ([]Tag, error) {
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return nil, err
	}
	return append([]Tag(nil), l.doc.Tags...), nil
}

// KeyOwner returns the tenant that owns the key named by id — a key ID or
// key ARN; aliases name keys only within a tenant — or NotFoundException.
// It is the one lookup across tenants: the object store's surface uses it
// for a platform caller (the operator uploading under a tenant's key); a
// tenant caller's key IDs are resolved within its own tenant, so that
// another tenant's key answers like a missing one.
func (s *Service) KeyOwner(ctx context.Context, id string) (string, error) {
	name := id
	if strings.HasPrefix(id, "arn:") {
		a, err := arn.Parse(id)
		if err != nil || a.Service != "kms" || a.Region != s.region || !accountRE.MatchString(a.AccountID) || !strings.HasPrefix(a.Resource, "key/") {
			return "", errNotFound(id)
		}
		name = strings.TrimPrefix(a.Resource, "key/")
	}
	if _, err := uuid.Parse(name); err != nil || len(name) != 36 {
		return "", errNotFound(id)
	}
	t, err := s.store.FindKeyOwner(ctx, strings.ToLower(name))
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return "", errNotFound(id)
	}
	if err != nil {
		return "", internalErr("find key owner", err)
	}
	acct := s.account
	if a := arn.AccountOf(id); a != "" {
		acct = a
	}
	if _, err := s.loadID(ctx, t, strings.ToLower(name), acct, id); err != nil {
		return "", err
	}
	return t, nil
}
