package manage

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// Keys serves the operator's key and erasure API for one tenant:
//
//	GET  /api/v1/tenants/{id}/keys          tenantml:ListTenantKeys
//	POST /api/v1/tenants/{id}/keys/rotate   tenantml:RotateTenantKey
//	POST /api/v1/tenants/{id}/erase         tenantml:EraseTenant, or
//	                                        tenantml:EraseTenantOverride when
//	                                        the body says "override": true
//
// The tenant must exist (ENOTFOUND otherwise), so a missing tenant never
// answers with an empty list. An override erase of a tenant that is not yet
// pending_deletion moves it there after its keys are destroyed. An override erase is a separate IAM action so
// that it can be allowed apart and stands out in the audit log.
type Keys struct {
	Tenants   tenant.Service
	Keys      *keys.Service
	Artifacts *artifact.Store
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// TenantKey is one key of a tenant in GET /api/v1/tenants/{id}/keys.
type TenantKey struct {
	Metadata keys.KeyMetadata `json:"metadata"`
	Aliases  []string         `json:"aliases"`
	Versions []keys.Version   `json:"versions"`
}

// ListTenantKeysOutput is the body of GET /api/v1/tenants/{id}/keys.
type ListTenantKeysOutput struct {
	Tenant string      `json:"tenant"`
	Keys   []TenantKey `json:"keys"`
}

// RotateTenantKeyInput is the body of POST /api/v1/tenants/{id}/keys/rotate.
type RotateTenantKeyInput struct {
	// KeyID names the key (ID, ARN or alias); default the artifact key.
	KeyID string `json:"keyId,omitempty"`
	// Rewrap re-wraps every artifact data key of the tenant to the new
	// version (bodies are not rewritten).
	Rewrap bool `json:"rewrap,omitempty"`
}

// RotateTenantKeyOutput is the answer of a rotation.
type RotateTenantKeyOutput struct {
	Tenant         string                 `json:"tenant"`
	KeyID          string                 `json:"keyId"`
	CurrentVersion int                    `json:"currentVersion"`
	Rewrap         *artifact.RewrapReport `json:"rewrap,omitempty"`
}

// EraseTenantInput is the body of POST /api/v1/tenants/{id}/erase.
type EraseTenantInput struct {
	// Override erases at once, whatever the tenant's status and the keys'
	// waiting period.
	Override bool `json:"override"`
}

// EraseTenantOutput is the erasure report.
type EraseTenantOutput struct {
	Keys *keys.ErasureReport `json:"keys"`
	// BlobsDeleted counts the manifests and bodies removed from storage.
	BlobsDeleted int `json:"blobsDeleted"`
}

// maxEraseBody bounds the body peeked to choose the erase action.
const maxEraseBody = 4 << 10

// Register adds the key routes to srv.
func (h *Keys) Register(srv *api.Server) {
	p := h.Pipeline
	one := tenantTarget(func(r *http.Request) string { return h.arn(r.PathValue("id")) }, "id")
	srv.Handle("GET /api/v1/tenants/{id}/keys", p.Handler(api.Op{Action: "tenantml:ListTenantKeys", Target: one, Handle: h.list}))
	srv.Handle("POST /api/v1/tenants/{id}/keys/rotate", p.Handler(api.Op{Action: "tenantml:RotateTenantKey", Target: one, Handle: h.rotate}))
	erase := p.Handler(api.Op{Action: "tenantml:EraseTenant", Target: one, Handle: h.erase(false)})
	override := p.Handler(api.Op{Action: "tenantml:EraseTenantOverride", Target: one, Handle: h.erase(true)})
	srv.Handle("POST /api/v1/tenants/{id}/erase", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The action depends on the body: peek at it (bounded) and hand
		// the same bytes on. A body that does not decode goes to the
		// plain action, whose handler rejects it after authentication.
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxEraseBody+1))
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in EraseTenantInput
		if len(body) <= maxEraseBody && json.Unmarshal(body, &in) == nil && in.Override {
			override.ServeHTTP(w, r)
			return
		}
		erase.ServeHTTP(w, r)
	}))
}

func (h *Keys) arn(id string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "tenant/"+id).String()
}

// findTenant fails with ENOTFOUND unless the tenant exists.
func (h *Keys) findTenant(ctx context.Context, id string) (*tenant.Tenant, error) {
	return h.Tenants.FindTenant(ctx, id)
}

func (h *Keys) list(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := h.findTenant(ctx, id); err != nil {
		return err
	}
	entries, err := h.Keys.ListKeys(ctx, id)
	if err != nil {
		return err
	}
	aliases, err := h.Keys.ListAliases(ctx, id, "")
	if err != nil {
		return err
	}
	out := ListTenantKeysOutput{Tenant: id, Keys: []TenantKey{}}
	for _, e := range entries {
		md, err := h.Keys.DescribeKey(ctx, id, e.KeyID)
		if err != nil {
			return err
		}
		k := TenantKey{Metadata: md, Aliases: []string{}}
		if k.Versions, err = h.Keys.ListKeyVersions(ctx, id, e.KeyID); err != nil {
			return err
		}
		for _, a := range aliases {
			if a.TargetKeyID == e.KeyID {
				k.Aliases = append(k.Aliases, a.AliasName)
			}
		}
		out.Keys = append(out.Keys, k)
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Keys) rotate(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in RotateTenantKeyInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	if _, err := h.findTenant(ctx, id); err != nil {
		return err
	}
	if in.KeyID == "" {
		in.KeyID = artifact.DefaultKeyAlias
	}
	if _, err := h.Keys.RotateKeyOnDemand(ctx, id, in.KeyID); err != nil {
		return err
	}
	md, err := h.Keys.DescribeKey(ctx, id, in.KeyID)
	if err != nil {
		return err
	}
	out := RotateTenantKeyOutput{Tenant: id, KeyID: md.KeyID, CurrentVersion: md.CurrentVersion}
	if in.Rewrap {
		rep, err := h.Artifacts.Rewrap(ctx, id, "")
		if err != nil {
			return err
		}
		out.Rewrap = &rep
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Keys) erase(override bool) func(http.ResponseWriter, *http.Request, *authn.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
		ctx, id := r.Context(), r.PathValue("id")
		var in EraseTenantInput
		if err := api.DecodeJSON(r, &in); err != nil {
			return err
		}
		if in.Override != override {
			return tenantml.Errorf(tenantml.EINVALID, "override flag changed while routing the request")
		}
		t, err := h.findTenant(ctx, id)
		if err != nil {
			return err
		}
		if !override && t.Status != tenant.PendingDeletion {
			return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q is %s: only a tenant pending deletion can be erased (delete it first, wait for its keys' waiting period, or erase with override)", id, t.Status)
		}
		rep, err := h.Keys.EraseTenant(ctx, id, keys.EraseOptions{Override: override})
		if err != nil {
			return err
		}
		// An erased tenant cannot stay active: its keys are gone.
		if t.Status != tenant.PendingDeletion {
			if _, err := h.Tenants.SetStatus(ctx, id, tenant.PendingDeletion); err != nil {
				return err
			}
		}
		n, err := h.Artifacts.DeleteTenant(ctx, id)
		if err != nil {
			return err
		}
		api.WriteJSON(w, http.StatusOK, EraseTenantOutput{Keys: rep, BlobsDeleted: n})
		return nil
	}
}
