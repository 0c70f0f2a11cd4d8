package alarm

import (
	"context"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/tenant"
)

// Service is the alarm API's domain: it validates, stores and lists the
// alarms of one account under the tenant rules (see the package
// documentation). Every method takes the caller's tenant ("" for a
// platform principal).
type Service struct {
	Store     Store
	AccountID string
	Region    string
	// CheckName refuses a name a principal of tenant t may not use: the
	// rule of every tenant-owned name (serving.CheckTenantName).
	CheckName func(t, field, name string) error
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// visible reports whether a caller of tenant caller may see an alarm of
// tenant owner: a platform caller sees every alarm, a tenant's caller its
// own tenant's only.
func visible(caller, owner string) bool { return caller == "" || caller == owner }

// ownerOf decides the tenant of an alarm a caller puts: a tenant
// principal's alarms are its tenant's; a platform principal's are the
// tenant its TenantID tag names, or the platform's.
func ownerOf(caller string, tags map[string]string) (string, error) {
	tagged := ""
	for k, v := range tags {
		if strings.EqualFold(k, tenant.TagKey) {
			tagged = v
		}
	}
	switch {
	case caller != "" && tagged != "" && tagged != caller:
		return "", validation("the %s tag of an alarm created by a principal of tenant %s must be %s", tenant.TagKey, caller, caller)
	case caller != "":
		return caller, nil
	case tagged != "":
		if err := tenant.ValidateID(tagged); err != nil {
			return "", validation("the %s tag: %s", tenant.TagKey, tenantml.ErrorMessage(err))
		}
	}
	return tagged, nil
}

// Put creates or replaces an alarm (PutMetricAlarm). A tenant's alarm and
// the endpoint it watches must both be names of the tenant's name space;
// replacing an alarm keeps its state, as CloudWatch does.
func (s *Service) Put(ctx context.Context, caller string, a *Alarm) error {
	if err := a.Validate(); err != nil {
		return err
	}
	owner, err := ownerOf(caller, a.Tags)
	if err != nil {
		return err
	}
	if owner != "" {
		if err := s.CheckName(owner, "AlarmName", a.Name); err != nil {
			return validation("%s", tenantml.ErrorMessage(err))
		}
		if err := s.CheckName(owner, "the EndpointName dimension", a.Endpoint()); err != nil {
			return validation("%s", tenantml.ErrorMessage(err))
		}
	}
	cur, err := s.Store.GetAlarm(ctx, s.AccountID, a.Name)
	switch {
	case tenantml.ErrorCode(err) == tenantml.ENOTFOUND:
		a.State, a.StateReason, a.StateUpdatedAt = StateInsufficientData, initialReason, s.now()
	case err != nil:
		return err
	case cur.Tenant != owner:
		// Only a platform alarm in a tenant's name space (or the
		// reverse, by a platform caller) can get here.
		return validation("alarm %s belongs to another owner", truncate(a.Name))
	default:
		a.State, a.StateReason, a.StateUpdatedAt = cur.State, cur.StateReason, cur.StateUpdatedAt
	}
	tags := make(map[string]string, len(a.Tags)+1)
	for k, v := range a.Tags {
		if !strings.EqualFold(k, tenant.TagKey) {
			tags[k] = v
		}
	}
	if owner != "" {
		tags[tenant.TagKey] = owner // aws:ResourceTag/TenantID names the owner
	}
	a.Tags = tags
	a.AccountID, a.Tenant, a.ConfigUpdatedAt = s.AccountID, owner, s.now()
	a.ARN = ARN(s.Region, s.AccountID, a.Name)
	return s.Store.PutAlarm(ctx, a)
}

// In returns the service of account acct: the same store, rules and
// clock, for that account's alarms. Alarms are account-scoped as
// CloudWatch's are: each account of a deployment has its own, watching
// its own endpoints.
func (s *Service) In(acct string) *Service {
	cp := *s
	cp.AccountID = acct
	return &cp
}

// Get returns an alarm the caller may see.
func (s *Service) Get(ctx context.Context, caller, name string) (*Alarm, error) {
	return s.GetIn(ctx, s.AccountID, caller, name)
}

// GetIn returns an alarm of account acct the caller may see.
func (s *Service) GetIn(ctx context.Context, acct, caller, name string) (*Alarm, error) {
	a, err := s.Store.GetAlarm(ctx, acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && !visible(caller, a.Tenant)) {
		return nil, ErrNotFound(name)
	}
	return a, err
}

// Describe lists the alarms the caller may see that f selects
// (DescribeAlarms): a tenant's caller its own tenant's only.
func (s *Service) Describe(ctx context.Context, caller string, f Filter) ([]*Alarm, error) {
	f.Tenant = caller
	return s.Store.ListAlarms(ctx, s.AccountID, f)
}

// Delete deletes alarms (DeleteAlarms): every name must be an alarm the
// caller may see, or none is deleted and the first missing one is
// ResourceNotFound, as CloudWatch answers.
func (s *Service) Delete(ctx context.Context, caller string, names []string) error {
	if len(names) == 0 || len(names) > 100 {
		return validation("AlarmNames must name 1 to 100 alarms")
	}
	for _, n := range names {
		if _, err := s.Get(ctx, caller, n); err != nil {
			return err
		}
	}
	for _, n := range names {
		if err := s.Store.DeleteAlarm(ctx, s.AccountID, n); err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			return err
		}
	}
	return nil
}

// Record stores an evaluation of a whose state differs from the stored
// one, in a's account.
func (s *Service) Record(ctx context.Context, a *Alarm, state StateValue, reason string) error {
	if state == a.State {
		return nil
	}
	acct := a.AccountID
	if acct == "" {
		acct = s.AccountID
	}
	at := s.now()
	if err := s.Store.SetState(ctx, acct, a.Name, state, reason, at); err != nil {
		return err
	}
	a.State, a.StateReason, a.StateUpdatedAt = state, reason, at
	return nil
}
