// Package deploy is the promotion runner's Deployer: it makes a run's
// SageMaker calls as a target's deployment role, through the server's own
// API in process. For each call it issues a session of the deployment
// role (package sts, with the tenant invariant: a pipeline of a tenant
// never gets a session of another tenant's role), signs the request with
// SigV4 and hands it to the server's handler, so every call is
// authenticated, authorized (sagemaker:CreateModel, iam:PassRole of the
// execution role, sagemaker:DescribeModelPackage across accounts, ...) and
// audited exactly as a client's request with those credentials.
package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/sts"
)

// Deployer implements promotion.Deployer over the server's handler.
type Deployer struct {
	// Handler is the server's API (the SageMaker and runtime routes).
	Handler  http.Handler
	Identity identity.Service
	Issuer   *sts.Issuer
	Region   string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Poll is the interval between DescribeEndpoint calls while waiting
	// for InService; 0 means 200ms.
	Poll time.Duration
	// Timeout bounds the wait for InService; 0 means 15 minutes.
	Timeout time.Duration
}

var _ promotion.Deployer = (*Deployer)(nil)

func (d *Deployer) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// SessionName is the role session name of a run's calls: the audit log
// shows arn:aws:sts::<account>:assumed-role/<role>/tenantml-pipeline-<run>.
func SessionName(runID string) string { return "tenantml-pipeline-" + runID }

// session issues credentials of the deployment role for tenantID's run.
func (d *Deployer) session(ctx context.Context, roleARN, tenantID, runID string) (aws.Credentials, error) {
	a, err := arn.Parse(roleARN)
	if err != nil || identity.ValidateAccount(a.AccountID) != nil {
		return aws.Credentials{}, fmt.Errorf("deployment role %s is not a role ARN", roleARN)
	}
	role, err := d.Identity.GetRole(ctx, a.AccountID, authz.RoleName(roleARN))
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND || (err == nil && role.ARN != roleARN) {
		return aws.Credentials{}, fmt.Errorf("deployment role %s does not exist", roleARN)
	}
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("look up deployment role: %w", err)
	}
	tags, transitive, err := sts.SessionTags(sts.TagInput{RoleTags: role.Tags})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("session tags: %w", err)
	}
	t := d.now()
	c, err := d.Issuer.Issue(sts.Session{Account: role.AccountID, RoleARN: role.ARN, RoleID: role.ID, RoleSessionName: SessionName(runID),
		Tags: tags, TransitiveTagKeys: transitive, IssuedAt: t, Expiration: t.Add(time.Hour), PermissionsBoundaryARN: role.PermissionsBoundary},
		sts.Parties{CallerTenant: tenantID, RoleTenant: role.TenantID})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("assume deployment role %s: %s", roleARN, tenantml.ErrorMessage(err))
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
}

// APIError is a SageMaker error answer.
type APIError struct {
	Op, Type, Message string
	Status            int
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Op, e.Type, e.Message)
}

// send signs req with creds and serves it in process.
func (d *Deployer) send(ctx context.Context, creds aws.Credentials, req *http.Request, body []byte) (*httptest.ResponseRecorder, error) {
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sagemaker", d.Region, d.now()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	req.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	d.Handler.ServeHTTP(rec, req)
	return rec, nil
}

// call makes one SageMaker JSON 1.1 call and decodes its answer into out.
func (d *Deployer) call(ctx context.Context, creds aws.Credentials, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://api.sagemaker."+d.Region+".tenantml.internal/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker."+op)
	req.Header.Set("User-Agent", "tenantml-pipeline")
	rec, err := d.send(ctx, creds, req, body)
	if err != nil {
		return err
	}
	if rec.Code != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if e.Message == "" {
			e.Message = e.Msg
		}
		if i := strings.LastIndex(e.Type, "#"); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		return &APIError{Op: op, Type: e.Type, Message: e.Message, Status: rec.Code}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		return fmt.Errorf("decode %s: %w", op, err)
	}
	return nil
}

// ResourceName is the name of the model and endpoint config a run deploys
// to an endpoint.
func ResourceName(endpoint string, r *promotion.Run) string {
	id := r.ID
	if len(id) > 8 {
		id = id[:8]
	}
	return fmt.Sprintf("%s-v%d-%s", endpoint, r.Version, id)
}

func exists(err error) bool {
	var e *APIError
	return errors.As(err, &e) && strings.Contains(strings.ToLower(e.Message), "already exist")
}

func notFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusBadRequest) &&
		(strings.Contains(e.Message, "Could not find") || strings.Contains(e.Message, "does not exist"))
}

type endpointOut struct {
	EndpointStatus     string `json:"EndpointStatus"`
	EndpointConfigName string `json:"EndpointConfigName"`
	FailureReason      string `json:"FailureReason"`
}

// Deploy implements promotion.Deployer: CreateModel from the package (its
// digest pin), CreateEndpointConfig, then CreateEndpoint or UpdateEndpoint
// (with the target's DeploymentConfig), and waits for InService. Each
// create that already happened (a resumed run) is kept.
func (d *Deployer) Deploy(ctx context.Context, p *promotion.Pipeline, _ string, t promotion.Target, r *promotion.Run) error {
	creds, err := d.session(ctx, t.DeploymentRoleARN, p.Tenant(), r.ID)
	if err != nil {
		return err
	}
	name := ResourceName(t.EndpointName, r)
	err = d.call(ctx, creds, "CreateModel", map[string]any{"ModelName": name, "ExecutionRoleArn": t.ExecutionRoleARN,
		"PrimaryContainer": map[string]any{"ModelPackageName": r.PackageARN}}, nil)
	if err != nil && !exists(err) {
		return err
	}
	err = d.call(ctx, creds, "CreateEndpointConfig", map[string]any{"EndpointConfigName": name, "ProductionVariants": []map[string]any{{
		"VariantName": "AllTraffic", "ModelName": name, "InstanceType": t.InstanceType, "InitialInstanceCount": t.InstanceCount}}}, nil)
	if err != nil && !exists(err) {
		return err
	}
	var cur endpointOut
	err = d.call(ctx, creds, "DescribeEndpoint", map[string]any{"EndpointName": t.EndpointName}, &cur)
	switch {
	case notFound(err):
		if err := d.call(ctx, creds, "CreateEndpoint", map[string]any{"EndpointName": t.EndpointName, "EndpointConfigName": name}, nil); err != nil && !exists(err) {
			return err
		}
	case err != nil:
		return err
	case cur.EndpointConfigName != name:
		in := map[string]any{"EndpointName": t.EndpointName, "EndpointConfigName": name}
		if t.DeploymentConfig != nil {
			in["DeploymentConfig"] = t.DeploymentConfig
		}
		if err := d.call(ctx, creds, "UpdateEndpoint", in, nil); err != nil {
			return err
		}
	}
	return d.waitInService(ctx, creds, t.EndpointName, name)
}

// waitInService polls DescribeEndpoint until the endpoint serves config
// name; an update rolled back (InService on another config with a
// FailureReason) is promotion.ErrRolledBack.
func (d *Deployer) waitInService(ctx context.Context, creds aws.Credentials, endpoint, config string) error {
	poll, timeout := d.Poll, d.Timeout
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		var e endpointOut
		if err := d.call(ctx, creds, "DescribeEndpoint", map[string]any{"EndpointName": endpoint}, &e); err != nil {
			return err
		}
		switch {
		case e.EndpointStatus == "InService" && e.EndpointConfigName == config:
			return nil
		case e.EndpointStatus == "InService" && e.FailureReason != "":
			return fmt.Errorf("endpoint %s: %s: %w", endpoint, e.FailureReason, promotion.ErrRolledBack)
		case e.EndpointStatus == "Failed":
			return fmt.Errorf("endpoint %s failed: %s", endpoint, e.FailureReason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("endpoint %s is not InService on %s in %s (status %s)", endpoint, config, timeout, e.EndpointStatus)
		case <-tick.C:
		}
	}
}

// Invoke implements promotion.Deployer: InvokeEndpoint as the target's
// deployment role, through the serving data plane.
func (d *Deployer) Invoke(ctx context.Context, p *promotion.Pipeline, t promotion.Target, r *promotion.Run, contentType string, payload []byte) ([]byte, error) {
	creds, err := d.session(ctx, t.DeploymentRoleARN, p.Tenant(), r.ID)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://runtime.sagemaker."+d.Region+".tenantml.internal/endpoints/"+t.EndpointName+"/invocations", bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("build invocation: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "tenantml-pipeline")
	rec, err := d.send(ctx, creds, req, payload)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		var e struct {
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("InvokeEndpoint %s: status %d: %s%s", t.EndpointName, rec.Code, e.Message, e.Msg)
	}
	return body, nil
}
