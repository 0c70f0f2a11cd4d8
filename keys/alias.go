package keys

import (
	"context"
	"strings"

	"github.com/tenantml/tenantml"
)

// aliasTarget resolves the target of CreateAlias/UpdateAlias: a key ID or
// key ARN (not an alias) of a key that is not pending deletion.
func (s *Service) aliasTarget(ctx context.Context, tenant, target string) (string, error) {
	if strings.HasPrefix(target, "alias/") || strings.Contains(target, ":alias/") {
		return "", kmsErr(ExcValidation, "an alias must target a key ID or key ARN")
	}
	l, err := s.load(ctx, tenant, target)
	if err != nil {
		return "", err
	}
	if l.doc.Meta.KeyState == StatePendingDeletion {
		return "", kmsErr(ExcInvalidState, "key %s is pending deletion", l.rec.ID)
	}
	return l.rec.ID, nil
}

// CreateAlias creates alias name ("alias/...") for one of tenant's keys.
// Alias names are unique per tenant.
func (s *Service) CreateAlias(ctx context.Context, tenant, name, targetKeyID string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	if err := validateAliasName(name); err != nil {
		return err
	}
	id, err := s.aliasTarget(ctx, tenant, targetKeyID)
	if err != nil {
		return err
	}
	_, err = s.store.PutAlias(ctx, &Alias{Tenant: tenant, Name: name, KeyID: id})
	switch tenantml.ErrorCode(err) {
	case "":
		return nil
	case tenantml.ECONFLICT:
		return kmsErr(ExcAlreadyExists, "alias %s already exists", name)
	default:
		return internalErr("put alias", err)
	}
}

// UpdateAlias points an existing alias at another of tenant's keys.
func (s *Service) UpdateAlias(ctx context.Context, tenant, name, targetKeyID string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	id, err := s.aliasTarget(ctx, tenant, targetKeyID)
	if err != nil {
		return err
	}
	a, err := s.store.GetAlias(ctx, tenant, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return kmsErr(ExcNotFound, "alias %s does not exist", name)
	}
	if err != nil {
		return internalErr("get alias", err)
	}
	a.KeyID = id
	if _, err := s.store.PutAlias(ctx, a); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return kmsErr(ExcConflict, "alias %s changed concurrently; retry", name)
		}
		return internalErr("put alias", err)
	}
	return nil
}

// DeleteAlias deletes one of tenant's aliases.
func (s *Service) DeleteAlias(ctx context.Context, tenant, name string) error {
	if err := checkTenant(tenant); err != nil {
		return err
	}
	a, err := s.store.GetAlias(ctx, tenant, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return kmsErr(ExcNotFound, "alias %s does not exist", name)
	}
	if err != nil {
		return internalErr("get alias", err)
	}
	if err := s.store.DeleteAlias(ctx, tenant, name, a.Revision); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		return internalErr("delete alias", err)
	}
	return nil
}

// ListAliases lists tenant's aliases sorted by name; a non-empty keyID
// restricts the list to the aliases of that key.
func (s *Service) ListAliases(ctx context.Context, tenant, keyID string) ([]AliasEntry, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	var only string
	if keyID != "" {
		l, err := s.load(ctx, tenant, keyID)
		if err != nil {
			return nil, err
		}
		only = l.rec.ID
	}
	as, err := s.store.ListAliases(ctx, tenant)
	if err != nil {
		return nil, internalErr("list aliases", err)
	}
	// Only aliases of the account's keys: another account's are not
	// listed (alias names are still one name space per tenant).
	mine, err := s.ListKeys(ctx, tenant)
	if err != nil {
		return nil, err
	}
	own := make(map[string]bool, len(mine))
	for _, k := range mine {
		own[k.KeyID] = true
	}
	out := make([]AliasEntry, 0, len(as))
	for _, a := range as {
		if a.Tenant != tenant || (only != "" && a.KeyID != only) || !own[a.KeyID] {
			continue
		}
		out = append(out, AliasEntry{AliasName: a.Name, AliasArn: s.AliasARN(a.Name), TargetKeyID: a.KeyID})
	}
	return out, nil
}

// EnsureKey returns the key named by alias for tenant, creating an enabled
// key with that alias if there is none. Onboarding uses it to give each
// tenant its key.
func (s *Service) EnsureKey(ctx context.Context, tenant, alias, description string) (KeyMetadata, error) {
	if err := validateAliasName(alias); err != nil {
		return KeyMetadata{}, err
	}
	if m, err := s.DescribeKey(ctx, tenant, alias); ExceptionOf(err) != ExcNotFound {
		return m, err
	}
	m, err := s.CreateKey(ctx, tenant, CreateKeyInput{Description: description})
	if err != nil {
		return KeyMetadata{}, err
	}
	if err := s.CreateAlias(ctx, tenant, alias, m.KeyID); err != nil {
		if ExceptionOf(err) == ExcAlreadyExists {
			// Lost a race with another onboarding: use the winner's key
			// and retire ours.
			if _, derr := s.Destroy(ctx, tenant, m.KeyID); derr != nil {
				return KeyMetadata{}, derr
			}
			return s.DescribeKey(ctx, tenant, alias)
		}
		return KeyMetadata{}, err
	}
	return m, nil
}
