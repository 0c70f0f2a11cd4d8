package keys

import (
	"context"
	"errors"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/tenantml/tenantml"
)

const day = 24 * time.Hour

// rotate adds a new Tink key to the loaded key's keyset, makes it primary
// and records the new version. Older versions stay in the keyset, so their
// ciphertexts still decrypt.
func (s *Service) rotate(ctx context.Context, l *loaded, now time.Time, typ string) error {
	if l.doc.Meta.KeyState != StateEnabled {
		return kmsErr(ExcInvalidState, "key %s is %s", l.doc.Meta.Arn, l.doc.Meta.KeyState)
	}
	h, err := s.unwrap(ctx, l)
	if err != nil {
		return err
	}
	m := keyset.NewManagerFromHandle(h)
	tinkID, err := m.Add(aead.AES256GCMKeyTemplate())
	if err != nil {
		return internalErr("rotate", err)
	}
	if err := m.SetPrimary(tinkID); err != nil {
		return internalErr("rotate", err)
	}
	nh, err := m.Handle()
	if err != nil {
		return internalErr("rotate", err)
	}
	if l.rec.Keyset, err = s.wrap(ctx, l.rec.Tenant, l.rec.ID, nh); err != nil {
		return internalErr("rotate", err)
	}
	if l.rotated, err = aead.New(nh); err != nil {
		return internalErr("rotate", err)
	}
	n := l.doc.Meta.CurrentVersion + 1
	l.doc.Versions = append(l.doc.Versions, versionDoc{Number: n, TinkID: tinkID, Created: now, RotationType: typ})
	l.doc.Meta.CurrentVersion = n
	switch typ {
	case RotationOnDemand:
		l.doc.Rotation.LastOnDemand = now
	case RotationAutomatic:
		l.doc.Rotation.Next = now.Add(time.Duration(l.doc.Rotation.PeriodDays) * day)
	}
	return nil
}

// RotateKeyOnDemand makes new key material the key's primary version and
// returns the new version number. Ciphertexts under older versions still
// decrypt; ReEncrypt moves them to the new version.
func (s *Service) RotateKeyOnDemand(ctx context.Context, tenant, keyID string) (int, error) {
	now := s.now().UTC()
	l, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		return s.rotate(ctx, l, now, RotationOnDemand)
	})
	if err != nil {
		return 0, err
	}
	s.cacheRotated(l)
	return l.doc.Meta.CurrentVersion, nil
}

// EnableKeyRotation turns on automatic rotation every periodDays days
// (0 means DefaultRotationPeriodDays). The next rotation is due periodDays
// after now; RotateDue performs it.
func (s *Service) EnableKeyRotation(ctx context.Context, tenant, keyID string, periodDays int) error {
	if periodDays == 0 {
		periodDays = DefaultRotationPeriodDays
	}
	if periodDays < MinRotationPeriodDays || periodDays > MaxRotationPeriodDays {
		return kmsErr(ExcValidation, "rotation period must be %d-%d days", MinRotationPeriodDays, MaxRotationPeriodDays)
	}
	now := s.now().UTC()
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if err := usable(l); err != nil {
			return err
		}
		l.doc.Rotation.Enabled = true
		l.doc.Rotation.PeriodDays = periodDays
		l.doc.Rotation.Next = now.Add(time.Duration(periodDays) * day)
		return nil
	})
	return err
}

// DisableKeyRotation turns off automatic rotation.
func (s *Service) DisableKeyRotation(ctx context.Context, tenant, keyID string) error {
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if err := usable(l); err != nil {
			return err
		}
		l.doc.Rotation = rotationDoc{LastOnDemand: l.doc.Rotation.LastOnDemand}
		return nil
	})
	return err
}

// GetKeyRotationStatus reports whether automatic rotation is on, its period
// and when the next rotation is due.
func (s *Service) GetKeyRotationStatus(ctx context.Context, tenant, keyID string) (RotationStatus, error) {
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return RotationStatus{}, err
	}
	r := l.doc.Rotation
	st := RotationStatus{KeyID: l.doc.Meta.Arn, Enabled: r.Enabled, OnDemandRotationDate: r.LastOnDemand}
	if r.Enabled {
		st.RotationPeriodInDays, st.NextRotationDate = r.PeriodDays, r.Next
	}
	return st, nil
}

// KeyRef names one key of one tenant.
type KeyRef struct {
	Tenant string
	KeyID  string
}

// RotateDue rotates every enabled key, of every tenant, whose automatic
// rotation is due at now. It returns the keys rotated; a failure stops the
// sweep and is returned with the keys rotated so far.
func (s *Service) RotateDue(ctx context.Context, now time.Time) ([]KeyRef, error) {
	now = now.UTC()
	var done []KeyRef
	errSkip := errors.New("not due")
	err := s.sweep(ctx, func(tenant string, d *keyDoc) error {
		if !d.Rotation.Enabled || d.Meta.KeyState != StateEnabled || d.Rotation.Next.After(now) {
			return nil
		}
		l, err := s.update(ctx, tenant, d.Meta.KeyID, func(l *loaded) error {
			if !l.doc.Rotation.Enabled || l.doc.Rotation.Next.After(now) {
				return errSkip
			}
			return s.rotate(ctx, l, now, RotationAutomatic)
		})
		if errors.Is(err, errSkip) {
			return nil
		}
		if err == nil {
			s.cacheRotated(l)
			done = append(done, KeyRef{Tenant: tenant, KeyID: d.Meta.KeyID})
		}
		return err
	})
	return done, err
}

// sweep calls fn for every key of every tenant.
func (s *Service) sweep(ctx context.Context, fn func(tenant string, d *keyDoc) error) error {
	tenants, err := s.store.ListTenants(ctx)
	if err != nil {
		return internalErr("list tenants", err)
	}
	for _, t := range tenants {
		recs, err := s.store.ListKeys(ctx, t)
		if err != nil {
			return internalErr("list keys", err)
		}
		for _, r := range recs {
			d, err := decodeDoc(r.Meta)
			if err != nil {
				return internalErr("sweep", err)
			}
			if err := fn(t, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// ScheduleKeyDeletion puts the key in PendingDeletion for pendingDays days
// (7–30; 0 means 30) and returns the deletion date. The key is unusable
// meanwhile; CancelKeyDeletion undoes it; DestroyDue destroys it once due.
func (s *Service) ScheduleKeyDeletion(ctx context.Context, tenant, keyID string, pendingDays int) (time.Time, error) {
	if pendingDays == 0 {
		pendingDays = DefaultPendingWindowDays
	}
	if pendingDays < MinPendingWindowDays || pendingDays > MaxPendingWindowDays {
		return time.Time{}, kmsErr(ExcValidation, "pending window must be %d-%d days", MinPendingWindowDays, MaxPendingWindowDays)
	}
	now := s.now().UTC()
	l, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if l.doc.Meta.KeyState == StatePendingDeletion {
			return kmsErr(ExcInvalidState, "key %s is already pending deletion", l.doc.Meta.Arn)
		}
		l.doc.Meta.KeyState, l.doc.Meta.Enabled = StatePendingDeletion, false
		l.doc.Meta.DeletionDate = now.Add(time.Duration(pendingDays) * day)
		l.doc.Meta.PendingDeletionWindowInDays = pendingDays
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	return l.doc.Meta.DeletionDate, nil
}

// CancelKeyDeletion cancels a scheduled deletion; the key becomes Disabled,
// as in AWS KMS.
func (s *Service) CancelKeyDeletion(ctx context.Context, tenant, keyID string) error {
	_, err := s.update(ctx, tenant, keyID, func(l *loaded) error {
		if l.doc.Meta.KeyState != StatePendingDeletion {
			return kmsErr(ExcInvalidState, "key %s is not pending deletion", l.doc.Meta.Arn)
		}
		l.doc.Meta.KeyState, l.doc.Meta.Enabled = StateDisabled, false
		l.doc.Meta.DeletionDate, l.doc.Meta.PendingDeletionWindowInDays = time.Time{}, 0
		return nil
	})
	return err
}

// DestroyedKey reports one destroyed key.
type DestroyedKey struct {
	Tenant       string    `json:"tenant"`
	KeyID        string    `json:"keyId"`
	Arn          string    `json:"arn"`
	StateBefore  KeyState  `json:"stateBefore"`
	DeletionDate time.Time `json:"deletionDate,omitzero"` // the scheduled date; zero if never scheduled
	Versions     int       `json:"versions"`              // number of key versions whose material was destroyed
	Aliases      []string  `json:"aliases"`               // aliases deleted with it
	DestroyedAt  time.Time `json:"destroyedAt"`
	Override     bool      `json:"override"` // destroyed before its waiting period ended
}

// Destroy destroys a key's material now, whatever its state and waiting
// period: the operator override. The wrapped keyset and the key's aliases
// are deleted; every ciphertext under the key becomes undecryptable. The
// caller audits the override.
func (s *Service) Destroy(ctx context.Context, tenant, keyID string) (DestroyedKey, error) {
	l, err := s.load(ctx, tenant, keyID)
	if err != nil {
		return DestroyedKey{}, err
	}
	return s.destroy(ctx, l, s.now().UTC())
}

func (s *Service) destroy(ctx context.Context, l *loaded, now time.Time) (DestroyedKey, error) {
	// Evict after the delete: a record read before the eviction is then
	// never cached (see primitiveCache.put), one read after it is gone.
	defer s.cache.dropKey(keyRef{l.rec.Tenant, l.rec.ID})
	m := l.doc.Meta
	rep := DestroyedKey{
		Tenant: l.rec.Tenant, KeyID: l.rec.ID, Arn: m.Arn, StateBefore: m.KeyState,
		DeletionDate: m.DeletionDate, Versions: len(l.doc.Versions), DestroyedAt: now,
		Override: m.KeyState != StatePendingDeletion || m.DeletionDate.After(now),
	}
	aliases, err := s.store.ListAliases(ctx, l.rec.Tenant)
	if err != nil {
		return DestroyedKey{}, internalErr("list aliases", err)
	}
	for _, a := range aliases {
		if a.KeyID != l.rec.ID || a.Tenant != l.rec.Tenant {
			continue
		}
		if err := s.store.DeleteAlias(ctx, a.Tenant, a.Name, a.Revision); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			return DestroyedKey{}, internalErr("delete alias", err)
		}
		rep.Aliases = append(rep.Aliases, a.Name)
	}
	err = s.store.DeleteKey(ctx, l.rec.Tenant, l.rec.ID, l.rec.Revision)
	switch tenantml.ErrorCode(err) {
	case "":
		return rep, nil
	case tenantml.ECONFLICT:
		return DestroyedKey{}, kmsErr(ExcConflict, "key %s changed concurrently; retry", m.Arn)
	case tenantml.ENOTFOUND:
		return DestroyedKey{}, errNotFound(l.rec.ID)
	default:
		return DestroyedKey{}, internalErr("delete key", err)
	}
}

// DestroyDue destroys every key, of every tenant, that is pending deletion
// with a deletion date at or before now.
func (s *Service) DestroyDue(ctx context.Context, now time.Time) ([]DestroyedKey, error) {
	now = now.UTC()
	var done []DestroyedKey
	err := s.sweep(ctx, func(tenant string, d *keyDoc) error {
		if d.Meta.KeyState != StatePendingDeletion || d.Meta.DeletionDate.After(now) {
			return nil
		}
		l, err := s.loadID(ctx, tenant, d.Meta.KeyID, "", d.Meta.KeyID)
		if err != nil {
			return err
		}
		if l.doc.Meta.KeyState != StatePendingDeletion || l.doc.Meta.DeletionDate.After(now) {
			return nil
		}
		rep, err := s.destroy(ctx, l, now)
		if err != nil {
			return err
		}
		done = append(done, rep)
		return nil
	})
	return done, err
}

// ScheduleTenantDeletion schedules the deletion of every key of tenant not
// already pending, with the given waiting period, and returns the latest
// deletion date among the tenant's keys.
func (s *Service) ScheduleTenantDeletion(ctx context.Context, tenant string, pendingDays int) (time.Time, error) {
	keys, err := s.ListKeys(ctx, tenant)
	if err != nil {
		return time.Time{}, err
	}
	var latest time.Time
	for _, k := range keys {
		m, err := s.DescribeKey(ctx, tenant, k.KeyID)
		if err != nil {
			return time.Time{}, err
		}
		when := m.DeletionDate
		if m.KeyState != StatePendingDeletion {
			if when, err = s.ScheduleKeyDeletion(ctx, tenant, k.KeyID, pendingDays); err != nil {
				return time.Time{}, err
			}
		}
		if when.After(latest) {
			latest = when
		}
	}
	return latest, nil
}

// EraseOptions controls EraseTenant.
type EraseOptions struct {
	// Override destroys keys whose waiting period has not ended (or that
	// were never scheduled). The caller must audit it.
	Override bool
}

// ErasureReport lists what EraseTenant destroyed.
type ErasureReport struct {
	Tenant      string         `json:"tenant"`
	Keys        []DestroyedKey `json:"keys"`
	Override    bool           `json:"override"`
	CompletedAt time.Time      `json:"completedAt"`
}

// EraseTenant destroys every key of tenant, crypto-shredding everything
// encrypted under them. Without opts.Override every key must be pending
// deletion with its deletion date passed, otherwise nothing is destroyed
// and KMSInvalidStateException is returned.
func (s *Service) EraseTenant(ctx context.Context, tenant string, opts EraseOptions) (*ErasureReport, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	recs, err := s.store.ListKeys(ctx, tenant)
	if err != nil {
		return nil, internalErr("list keys", err)
	}
	var ls []*loaded
	for _, r := range recs {
		l, err := s.loadID(ctx, tenant, r.ID, "", r.ID)
		if err != nil {
			return nil, err
		}
		m := l.doc.Meta
		if !opts.Override && (m.KeyState != StatePendingDeletion || m.DeletionDate.After(now)) {
			return nil, kmsErr(ExcInvalidState, "key %s is not due for deletion; schedule deletion and wait, or override", m.Arn)
		}
		ls = append(ls, l)
	}
	rep := &ErasureReport{Tenant: tenant, Override: opts.Override}
	// Each destroy evicts its key; this also drops any entry of a key
	// another process destroyed.
	defer s.cache.dropTenant(tenant)
	for _, l := range ls {
		d, err := s.destroy(ctx, l, now)
		if err != nil {
			return rep, err
		}
		rep.Keys = append(rep.Keys, d)
	}
	rep.CompletedAt = now
	return rep, nil
}
