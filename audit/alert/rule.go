package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// Kind is what a rule watches for.
type Kind string

// The rule kinds.
const (
	DeniedRequests        Kind = "DeniedRequests"
	CrossTenantAttempts   Kind = "CrossTenantAttempts"
	SuspendedTenantAccess Kind = "SuspendedTenantAccess"
	KeyDeletionScheduled  Kind = "KeyDeletionScheduled"
	AuditWriteFailure     Kind = "AuditWriteFailure"
	// AnomalousRate is raised from outside the rules (Engine.Raise) by a
	// detector of a tenant's request or error rate far from its baseline.
	AnomalousRate Kind = "AnomalousRate"
)

// GroupBy says which events of a rule share one window.
type GroupBy string

// The groupings.
const (
	GroupRule      GroupBy = "rule"      // every matching event
	GroupTenant    GroupBy = "tenant"    // per tenant
	GroupPrincipal GroupBy = "principal" // per principal (ARN, else principal ID)
)

// Rule fires an alert when Threshold matching events arrive within Window.
type Rule struct {
	// Name identifies the rule in alerts; required, unique.
	Name string `json:"name" yaml:"name"`
	// Kind selects the matching events.
	Kind Kind `json:"kind" yaml:"kind"`
	// TenantID restricts the rule to one tenant; empty is platform-wide.
	TenantID string `json:"tenantId,omitempty" yaml:"tenantId,omitempty"`
	// Threshold is N; default 1.
	Threshold int `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	// Window is T; default 5 minutes.
	Window time.Duration `json:"window,omitempty" yaml:"window,omitempty"`
	// GroupBy defaults to principal for DeniedRequests, tenant for
	// SuspendedTenantAccess and KeyDeletionScheduled, rule otherwise.
	GroupBy GroupBy `json:"groupBy,omitempty" yaml:"groupBy,omitempty"`
	// Cooldown suppresses repeats for the same group after firing;
	// default Window.
	Cooldown time.Duration `json:"cooldown,omitempty" yaml:"cooldown,omitempty"`
}

// DefaultRules is a sensible platform-wide rule set.
func DefaultRules() []Rule {
	return []Rule{
		{Name: "denied-burst", Kind: DeniedRequests, Threshold: 10, Window: time.Minute},
		{Name: "cross-tenant-burst", Kind: CrossTenantAttempts, Threshold: 5, Window: time.Minute},
		{Name: "suspended-tenant-access", Kind: SuspendedTenantAccess, Window: 5 * time.Minute},
		{Name: "key-deletion-scheduled", Kind: KeyDeletionScheduled, Cooldown: -1},
		{Name: "audit-write-failure", Kind: AuditWriteFailure, Window: 5 * time.Minute},
	}
}

func (r *Rule) setDefaults() error {
	if r.Name == "" {
		return errors.New("alert rule: name is required")
	}
	switch r.Kind {
	case DeniedRequests, CrossTenantAttempts, SuspendedTenantAccess, KeyDeletionScheduled, AuditWriteFailure:
	default:
		return fmt.Errorf("alert rule %s: unknown kind %q", r.Name, r.Kind)
	}
	if r.Kind == AuditWriteFailure && r.TenantID != "" {
		return fmt.Errorf("alert rule %s: audit write failure is platform-wide", r.Name)
	}
	if r.Threshold < 0 || r.Window < 0 {
		return fmt.Errorf("alert rule %s: negative threshold or window", r.Name)
	}
	if r.Threshold == 0 {
		r.Threshold = 1
	}
	if r.Window == 0 {
		r.Window = 5 * time.Minute
	}
	if r.Cooldown == 0 {
		r.Cooldown = r.Window
	}
	if r.Cooldown < 0 {
		r.Cooldown = 0
	}
	if r.GroupBy == "" {
		switch r.Kind {
		case DeniedRequests:
			r.GroupBy = GroupPrincipal
		case SuspendedTenantAccess, KeyDeletionScheduled:
			r.GroupBy = GroupTenant
		default:
			r.GroupBy = GroupRule
		}
	}
	switch r.GroupBy {
	case GroupRule, GroupTenant, GroupPrincipal:
	default:
		return fmt.Errorf("alert rule %s: unknown groupBy %q", r.Name, r.GroupBy)
	}
	return nil
}

// matches reports whether ev counts towards the rule.
func (r *Rule) matches(ev *audit.Event) bool {
	if r.TenantID != "" && ev.TenantID != r.TenantID {
		return false
	}
	switch r.Kind {
	case DeniedRequests:
		return ev.Denied()
	case CrossTenantAttempts:
		return ev.CrossTenant
	case SuspendedTenantAccess:
		return ev.TenantSuspended
	case KeyDeletionScheduled:
		return ev.EventName == "ScheduleKeyDeletion" && ev.Decision.Effect == audit.Allowed && ev.ErrorCode == ""
	}
	return false
}

func (r *Rule) group(ev *audit.Event) string {
	switch r.GroupBy {
	case GroupTenant:
		return ev.TenantID
	case GroupPrincipal:
		if ev.UserIdentity.ARN != "" {
			return ev.UserIdentity.ARN
		}
		return ev.UserIdentity.PrincipalID
	}
	return ""
}

// window is a sliding window of event times for one rule and group.
type window struct {
	times     []time.Time
	quietTill time.Time
}

// observe adds now and reports whether the threshold is reached outside
// the cooldown; it returns the count in the window.
func (w *window) observe(r *Rule, now time.Time) (int, bool) {
	cut := now.Add(-r.Window)
	i := 0
	for i < len(w.times) && !w.times[i].After(cut) {
		i++
	}
	w.times = append(w.times[i:], now)
	if len(w.times) < r.Threshold || now.Before(w.quietTill) {
		return len(w.times), false
	}
	n := len(w.times)
	w.times = w.times[:0]
	w.quietTill = now.Add(r.Cooldown)
	return n, true
}
