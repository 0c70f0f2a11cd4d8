package audit

import (
	"context"
	"encoding/json"
	"fmt"
)

// FieldSealer encrypts the personal fields of a tenant's events under that
// tenant's key (implemented by the keys package). Open must fail once the
// tenant's key is destroyed; the log then returns the event with the
// personal fields empty and PersonalDataErased set. The leaf hash covers the
// sealed form, so erasure never breaks verification.
type FieldSealer interface {
	// Seal encrypts plaintext for tenantID, binding aad.
	Seal(ctx context.Context, tenantID string, plaintext, aad []byte) ([]byte, error)
	// Open decrypts ciphertext sealed for tenantID with the same aad.
	Open(ctx context.Context, tenantID string, ciphertext, aad []byte) ([]byte, error)
}

// personal holds the fields sealed under the tenant key.
type personal struct {
	ARN             string `json:"arn,omitempty"`
	SessionName     string `json:"sessionName,omitempty"`
	SourceIPAddress string `json:"sourceIPAddress,omitempty"`
	UserAgent       string `json:"userAgent,omitempty"`
}

// leaf is the stored form of an event: the event with the personal fields
// moved into SealedPersonalData when they are sealed.
type leaf struct {
	Event
	SealedPersonalData []byte `json:"sealedPersonalData,omitempty"`
}

// sealAAD binds the ciphertext to the tenant and the event.
func sealAAD(tenantID, eventID string) []byte {
	return []byte("tenantml.audit/v1\x00" + tenantID + "\x00" + eventID)
}

func sealEvent(ctx context.Context, s FieldSealer, ev Event) (leaf, error) {
	lf := leaf{Event: ev}
	if s == nil || ev.TenantID == "" {
		return lf, nil
	}
	p := personal{ev.UserIdentity.ARN, ev.UserIdentity.SessionName, ev.SourceIPAddress, ev.UserAgent}
	if p == (personal{}) {
		return lf, nil
	}
	pt, err := json.Marshal(p)
	if err != nil {
		return leaf{}, fmt.Errorf("encode personal fields: %w", err)
	}
	ct, err := s.Seal(ctx, ev.TenantID, pt, sealAAD(ev.TenantID, ev.EventID))
	if err != nil {
		return leaf{}, fmt.Errorf("seal personal fields: %w", err)
	}
	lf.UserIdentity.ARN, lf.UserIdentity.SessionName, lf.SourceIPAddress, lf.UserAgent = "", "", "", ""
	lf.SealedPersonalData = ct
	return lf, nil
}

// unseal restores the personal fields. When the sealer cannot open them
// (the tenant's key was destroyed) the event is returned with
// PersonalDataErased set.
func unseal(ctx context.Context, s FieldSealer, lf leaf) Event {
	ev := lf.Event
	if len(lf.SealedPersonalData) == 0 {
		return ev
	}
	if s == nil {
		ev.PersonalDataErased = true
		return ev
	}
	pt, err := s.Open(ctx, ev.TenantID, lf.SealedPersonalData, sealAAD(ev.TenantID, ev.EventID))
	var p personal
	if err == nil {
		err = json.Unmarshal(pt, &p)
	}
	if err != nil {
		ev.PersonalDataErased = true
		return ev
	}
	ev.UserIdentity.ARN, ev.UserIdentity.SessionName = p.ARN, p.SessionName
	ev.SourceIPAddress, ev.UserAgent = p.SourceIPAddress, p.UserAgent
	return ev
}
