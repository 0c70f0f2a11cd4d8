package manage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// Artifacts serves a tenant's model artifacts:
//
//	PUT    /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}          tenantml:PutArtifact
//	GET    /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}          tenantml:GetArtifact (streamed)
//	HEAD   /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}          tenantml:GetArtifact
//	DELETE /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}          tenantml:DeleteArtifact
//	POST   /api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}/presign  tenantml:PresignArtifact
//	GET    /api/v1/tenants/{tenant}/artifacts?prefix=                           tenantml:ListArtifacts
//
// on arn:aws:tenantml:<region>:<account>:artifact/<tenant>/<model>/<version>/<file>
// (the list on .../artifact/<tenant>/*). The tenant must exist (ENOTFOUND)
// and be active (ECONFLICT while suspended or pending deletion). A caller
// that may not act on another tenant's artifacts is refused by the IAM
// engine before anything is looked up, so the answer is the same whether
// the artifact, or the tenant, exists.
//
// GET, HEAD and PUT also accept presigned URLs (X-Tenantml-Expires,
// X-Tenantml-Credential, [X-Tenantml-Security-Token,]
// X-Tenantml-Signature; no credentials): the Presigner checks the URL is
// for exactly this method on exactly this artifact and not expired, and
// names its issuer (the access key, and session token, the presign was
// requested with). The issuer is then resolved again through Credentials —
// a deactivated key, an expired or revoked session fails — and the
// request proceeds as the issuer's, decided by the IAM engine on the
// underlying tenantml:GetArtifact or tenantml:PutArtifact with the
// issuer's current policies (S3's behaviour: a URL never grants more than
// its signer holds when it is used). A presign is issued only to a caller
// the IAM engine allows both tenantml:PresignArtifact and the underlying
// action, and a role session's URL expires no later than the session.
type Artifacts struct {
	Tenants interface {
		FindTenant(ctx context.Context, id string) (*tenant.Tenant, error)
	}
	Store     *artifact.Store
	Presigner *artifact.Presigner
	// Pipeline serves list, delete and presign.
	Pipeline *api.Pipeline
	// ObjectPipeline serves GET, HEAD and PUT of one artifact: its
	// authenticator should accept UNSIGNED-PAYLOAD (uploads are streamed,
	// never buffered to be hashed). Register adds presigned-URL
	// authentication in front of it. Default Pipeline.
	ObjectPipeline *api.Pipeline
	// MaxUploadBytes bounds an upload's body (413 beyond it).
	MaxUploadBytes int64
	Region         string
	AccountID      string
	// Credentials resolves a presigned URL's issuer when the URL is used
	// (the SigV4 verifier's credential source); without it presigned
	// URLs are refused.
	Credentials authn.CredentialSource
}

// SHA256Header carries an artifact's hex SHA-256: declared by an upload
// (checked before the artifact is committed) and reported by a download.
const SHA256Header = "X-Tenantml-Sha256"

// DefaultPresignExpiry is a presigned URL's lifetime when the request names
// none.
const DefaultPresignExpiry = 15 * time.Minute

// ArtifactInfo describes a stored artifact.
type ArtifactInfo struct {
	Tenant     string    `json:"tenant"`
	Model      string    `json:"model"`
	Version    string    `json:"version"`
	File       string    `json:"file"`
	Size       int64     `json:"size"`
	SHA256     string    `json:"sha256"`
	Created    time.Time `json:"created"`
	KeyARN     string    `json:"keyArn"`
	KeyVersion int       `json:"keyVersion"`
}

// ListArtifactsOutput is the body of GET /api/v1/tenants/{tenant}/artifacts.
type ListArtifactsOutput struct {
	Tenant    string          `json:"tenant"`
	Artifacts []*ArtifactInfo `json:"artifacts"`
}

// PresignArtifactInput is the body of POST .../{file}/presign.
type PresignArtifactInput struct {
	// Method is GET (download) or PUT (upload).
	Method string `json:"method"`
	// ExpiresIn is the URL's lifetime in seconds (at most 7 days); 0 means
	// DefaultPresignExpiry.
	ExpiresIn int64 `json:"expiresIn"`
}

// PresignArtifactOutput is the answer of a presign.
type PresignArtifactOutput struct {
	URL     string    `json:"url"`
	Method  string    `json:"method"`
	Expires time.Time `json:"expires"`
}

func infoOf(in *artifact.Info) *ArtifactInfo {
	model, file, _ := strings.Cut(in.Key, "/")
	return &ArtifactInfo{Tenant: in.Tenant, Model: model, Version: in.Version, File: file, Size: in.Size, SHA256: in.SHA256,
		Created: in.Created, KeyARN: in.KeyARN, KeyVersion: in.KeyVersion}
}

// Register adds the artifact routes to srv.
func (h *Artifacts) Register(srv *api.Server) {
	p := h.Pipeline
	objects := *p
	if h.ObjectPipeline != nil {
		objects = *h.ObjectPipeline
	}
	objects.Authn = &presignAuthenticator{h: h, next: objects.Authn}

	const one = "/api/v1/tenants/{tenant}/artifacts/{model}/{version}/{file}"
	res := func(r *http.Request) string {
		return h.arn(r.PathValue("tenant"), r.PathValue("model"), r.PathValue("version"), r.PathValue("file"))
	}
	all := func(r *http.Request) string { return h.arn(r.PathValue("tenant"), "*") }
	oneT, allT := tenantTarget(res, "tenant"), tenantTarget(all, "tenant")
	limit := h.MaxUploadBytes
	if limit <= 0 {
		limit = api.DefaultMaxBodyBytes
	}
	srv.HandleWithLimit("PUT "+one, limit, objects.Handler(api.Op{Action: "tenantml:PutArtifact", Target: oneT, Handle: h.put}))
	srv.Handle("GET "+one, objects.Handler(api.Op{Action: "tenantml:GetArtifact", Target: oneT, Stream: h.get}))
	srv.Handle("DELETE "+one, p.Handler(api.Op{Action: "tenantml:DeleteArtifact", Target: oneT, Handle: h.delete}))
	srv.Handle("POST "+one+"/presign", p.Handler(api.Op{Action: "tenantml:PresignArtifact", Target: oneT, Handle: h.presign}))
	srv.Handle("GET /api/v1/tenants/{tenant}/artifacts", p.Handler(api.Op{Action: "tenantml:ListArtifacts", Target: allT, Handle: h.list}))
}

// arn is the artifact's ARN; parts are model, version and file, or "*".
func (h *Artifacts) arn(tenantID string, parts ...string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "artifact/"+tenantID+"/"+strings.Join(parts, "/")).String()
}

// object is the artifact a request names, validated.
type object struct {
	tenant, key, version string
}

func objectOf(r *http.Request) (object, error) {
	o := object{tenant: r.PathValue("tenant"), key: r.PathValue("model") + "/" + r.PathValue("file"), version: r.PathValue("version")}
	for _, s := range []string{r.PathValue("model"), r.PathValue("version"), r.PathValue("file")} {
		if !nameRE.MatchString(s) || s == "." || s == ".." || strings.HasSuffix(s, ".tmp") {
			return o, tenantml.Errorf(tenantml.EINVALID, "invalid artifact name %q: model, version and file must be 1-128 characters of A-Z a-z 0-9 _ . - (not \".\", \"..\" or ending in \".tmp\"); the version at most 64", s)
		}
	}
	if len(o.version) > 64 {
		return o, tenantml.Errorf(tenantml.EINVALID, "invalid artifact version: at most 64 characters")
	}
	return o, nil
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	prefixRE = regexp.MustCompile(`^[A-Za-z0-9_./-]{0,512}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// activeTenant fails unless the tenant exists (ENOTFOUND) and is active
// (ECONFLICT): a suspended tenant's artifacts are unavailable until it is
// resumed, a tenant pending deletion's for good.
func (h *Artifacts) activeTenant(ctx context.Context, id string) error {
	t, err := h.Tenants.FindTenant(ctx, id)
	if err != nil {
		return err
	}
	if t.Status != tenant.Active {
		return tenantml.Errorf(tenantml.ECONFLICT, "tenant %q is %s: its artifacts are unavailable", id, t.Status)
	}
	return nil
}

func (h *Artifacts) put(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	o, err := objectOf(r)
	if err != nil {
		return err
	}
	opts := artifact.PutOptions{}
	if r.ContentLength > 0 {
		if h.MaxUploadBytes > 0 && r.ContentLength > h.MaxUploadBytes {
			return tenantml.Errorf(tenantml.ETOOLARGE, "artifact of %d bytes exceeds the upload limit of %d bytes", r.ContentLength, h.MaxUploadBytes)
		}
		opts.ExpectedSize = r.ContentLength
	}
	if v := r.Header.Get(SHA256Header); v != "" {
		opts.ExpectedSHA256 = strings.ToLower(v)
		if !sha256RE.MatchString(opts.ExpectedSHA256) {
			return tenantml.Errorf(tenantml.EINVALID, "%s must be a hex SHA-256", SHA256Header)
		}
	}
	if err := h.activeTenant(r.Context(), o.tenant); err != nil {
		return err
	}
	if r.ContentLength == 0 || r.Body == nil {
		return errEmptyBody()
	}
	body := bufio.NewReaderSize(r.Body, 64<<10)
	if _, err := body.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return errEmptyBody()
		}
		return uploadError(err)
	}
	_, statErr := h.Store.Stat(r.Context(), o.tenant, o.key, o.version)
	info, err := h.Store.PutWith(r.Context(), o.tenant, o.key, o.version, body, opts)
	if err != nil {
		return uploadError(err)
	}
	status := http.StatusOK
	if tenantml.ErrorCode(statErr) == tenantml.ENOTFOUND {
		status = http.StatusCreated
	}
	api.WriteJSON(w, status, infoOf(info))
	return nil
}

func errEmptyBody() error {
	return tenantml.Errorf(tenantml.EINVALID, "request body is empty; send the artifact's bytes")
}

// uploadError maps a body over the route's limit to ETOOLARGE.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tenantml.Errorf(tenantml.ETOOLARGE, "artifact exceeds the upload limit of %d bytes", tooLarge.Limit)
	}
	return err
}

// get streams the artifact (GET) or describes it in headers (HEAD).
func (h *Artifacts) get(r *http.Request, _ *authn.Principal) (*api.Stream, error) {
	o, err := objectOf(r)
	if err != nil {
		return nil, err
	}
	if err := h.activeTenant(r.Context(), o.tenant); err != nil {
		return nil, err
	}
	var (
		info *artifact.Info
		body io.ReadCloser
	)
	if r.Method == http.MethodHead {
		info, err = h.Store.Stat(r.Context(), o.tenant, o.key, o.version)
	} else {
		body, info, err = h.Store.Get(r.Context(), o.tenant, o.key, o.version)
	}
	if err != nil {
		return nil, err
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	hdr.Set(SHA256Header, info.SHA256)
	hdr.Set("ETag", `"`+info.SHA256+`"`)
	hdr.Set("Last-Modified", info.Created.UTC().Format(http.TimeFormat))
	return &api.Stream{Status: http.StatusOK, Header: hdr, Body: body}, nil
}

func (h *Artifacts) delete(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	o, err := objectOf(r)
	if err != nil {
		return err
	}
	if err := h.activeTenant(r.Context(), o.tenant); err != nil {
		return err
	}
	if err := h.Store.Delete(r.Context(), o.tenant, o.key, o.version); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Artifacts) list(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	id, prefix := r.PathValue("tenant"), r.URL.Query().Get("prefix")
	if !prefixRE.MatchString(prefix) || strings.Contains(prefix, "..") {
		return tenantml.Errorf(tenantml.EINVALID, "invalid prefix: at most 512 characters of A-Z a-z 0-9 _ . - /, without \"..\"")
	}
	if err := h.activeTenant(r.Context(), id); err != nil {
		return err
	}
	infos, err := h.Store.List(r.Context(), id, prefix)
	if err != nil {
		return err
	}
	out := ListArtifactsOutput{Tenant: id, Artifacts: []*ArtifactInfo{}}
	for _, in := range infos {
		out.Artifacts = append(out.Artifacts, infoOf(in))
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Artifacts) presign(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	o, err := objectOf(r)
	if err != nil {
		return err
	}
	var in PresignArtifactInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	var underlying string
	switch in.Method {
	case http.MethodGet:
		underlying = "tenantml:GetArtifact"
	case http.MethodPut:
		underlying = "tenantml:PutArtifact"
	default:
		return tenantml.Errorf(tenantml.EINVALID, "method must be GET or PUT")
	}
	ttl := time.Duration(in.ExpiresIn) * time.Second
	if in.ExpiresIn == 0 {
		ttl = DefaultPresignExpiry
	}
	if in.ExpiresIn < 0 || ttl > artifact.MaxPresignTTL {
		return tenantml.Errorf(tenantml.EINVALID, "expiresIn must be between 1 and %d seconds", int64(artifact.MaxPresignTTL/time.Second))
	}
	// A presigned URL never grants more than its issuer has.
	resource := h.arn(o.tenant, r.PathValue("model"), o.version, r.PathValue("file"))
	d, _, err := h.Pipeline.Check(r, c, underlying, authz.Resource{ARN: resource, Tenant: o.tenant}, nil)
	if err != nil {
		return err
	}
	if !d.Allowed() {
		return tenantml.Errorf(tenantml.EFORBIDDEN, "User: %s is not authorized to perform: %s on resource: %s, which a presigned %s URL would grant", c.ARN, underlying, resource, in.Method)
	}
	if err := h.activeTenant(r.Context(), o.tenant); err != nil {
		return err
	}
	if c.AccessKeyID == "" {
		return tenantml.Errorf(tenantml.EINVALID, "a presigned URL is issued to a caller that signs with an access key")
	}
	if c.Session != nil && !c.Session.Expiration.IsZero() {
		// A session's URL expires no later than the session.
		if left := time.Until(c.Session.Expiration); left < ttl {
			ttl = left.Truncate(time.Second)
		}
		if ttl <= 0 {
			return tenantml.Errorf(tenantml.EFORBIDDEN, "the session has expired")
		}
	}
	iss := artifact.Issuer{AccessKeyID: c.AccessKeyID, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if iss.SessionToken == "" {
		iss.SessionToken = r.URL.Query().Get("X-Amz-Security-Token")
	}
	q, err := h.Presigner.Presign(in.Method, o.tenant, o.key, o.version, iss, ttl)
	if err != nil {
		return tenantml.Errorf(tenantml.EINVALID, "%s", err.Error())
	}
	exp, err := strconv.ParseInt(q.Get(artifact.QueryExpires), 10, 64)
	if err != nil {
		return fmt.Errorf("presign: %w", err)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: strings.TrimSuffix(r.URL.Path, "/presign"), RawQuery: q.Encode()}
	api.WriteJSON(w, http.StatusOK, PresignArtifactOutput{URL: u.String(), Method: in.Method, Expires: time.Unix(exp, 0).UTC()})
	return nil
}

// presignAuthenticator authenticates requests carrying presigned-URL query
// parameters with the Presigner, and hands every other request to next.
type presignAuthenticator struct {
	h    *Artifacts
	next api.Authenticator
}

// Authenticate implements api.Authenticator.
func (a *presignAuthenticator) Authenticate(r *http.Request) (*authn.Principal, error) {
	q := r.URL.Query()
	if !q.Has(artifact.QueryExpires) && !q.Has(artifact.QuerySignature) {
		return a.next.Authenticate(r)
	}
	if r.Header.Get("Authorization") != "" || q.Has("X-Amz-Algorithm") {
		return nil, tenantml.Errorf(tenantml.EINVALID, "a request carries either a presigned URL's signature or credentials, not both")
	}
	o, err := objectOf(r)
	if err != nil {
		return nil, accessDenied()
	}
	iss, err := a.h.Presigner.Verify(r.Method, o.tenant, o.key, o.version, q)
	switch {
	case errors.Is(err, artifact.ErrExpired):
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "presigned URL expired at %s; ask for a new one", expiresOf(q))
	case err != nil:
		return nil, accessDenied()
	}
	if a.h.Credentials == nil {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "presigned URLs are not accepted by this server")
	}
	// The issuer again, as it is now: a deactivated key or an expired or
	// revoked session no longer presigns anything.
	cred, err := a.h.Credentials.Credential(r.Context(), iss.AccessKeyID, iss.SessionToken)
	if err != nil && tenantml.AWSCodeOf(err) != "" { // InvalidClientTokenId, ExpiredToken, ...
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "the presigned URL's issuer credentials are no longer valid")
	}
	if err != nil {
		return nil, fmt.Errorf("resolve the presigned URL's issuer: %w", err)
	}
	p := *cred.Principal
	p.AccessKeyID = iss.AccessKeyID
	return &p, nil
}

func accessDenied() error {
	return tenantml.Errorf(tenantml.EFORBIDDEN, "access denied: the presigned URL's signature does not match this request (method, tenant, artifact, version or expiry)")
}

func expiresOf(q url.Values) string {
	n, err := strconv.ParseInt(q.Get(artifact.QueryExpires), 10, 64)
	if err != nil {
		return "?"
	}
	return time.Unix(n, 0).UTC().Format(time.RFC3339)
}
