package main

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/onboard"
	"github.com/tenantml/tenantml/tenant"
)

// demoModels are the demo tenants' models, trained by
// testdata/demo/train.py with Debian's python3-xgboost.
//
//go:embed testdata/demo/*.tar.gz testdata/demo/rows.csv
var demoModels embed.FS

// demoTenant is one demo tenant and its isolation model.
type demoTenant struct {
	id  string
	iso tenant.Isolation
}

// The demo's tenants: one per isolation model.
var demoTenants = []demoTenant{{"acme", tenant.Silo}, {"globex", tenant.Pool}, {"initech", tenant.Bridge}}

// demoBroker is the platform user the demo's commands assume invoke roles
// as (the account root may not assume roles, as on AWS): it may only
// assume roles, with a TenantID session tag.
const demoBroker = "demo-broker"

// runDemo onboards the three demo tenants (silo, pool, bridge) with their
// models, creates the demo broker, then invokes, through the server's own
// pipeline, each tenant's model from its session and every other tenant's
// model from the same session, and prints the outcome and copy-pasteable
// AWS CLI commands for an allowed and a denied call of each. Every call is
// audited. It fails if a cross-tenant call is allowed or an own call
// refused: the demo doubles as a self-check.
func (s *server) runDemo(ctx context.Context, out io.Writer) error {
	onboarding := s.onboarding(s.store.Tenants())
	for _, d := range demoTenants {
		t := &tenant.Tenant{ID: d.id, DisplayName: "Demo tenant " + d.id, Isolation: d.iso, HomeRegion: s.cfg.Region, Tier: "standard"}
		if err := onboarding.CreateTenant(ctx, t); err != nil && tenantml.ErrorCode(err) != tenantml.ECONFLICT {
			return fmt.Errorf("demo: onboard %s: %w", d.id, err)
		}
		if err := s.demoDeploy(ctx, d); err != nil {
			return fmt.Errorf("demo: deploy %s: %w", d.id, err)
		}
	}
	key, secret, err := s.demoBrokerKey(ctx)
	if err != nil {
		return fmt.Errorf("demo: broker: %w", err)
	}
	rows, err := demoModels.ReadFile("testdata/demo/rows.csv")
	if err != nil {
		return err
	}
	dir := filepath.Join(s.cfg.DataDir, "demo")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rowsPath, err := filepath.Abs(filepath.Join(dir, "rows.csv"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(rowsPath, rows, 0o600); err != nil {
		return err
	}
	fmt.Fprintln(out, "Isolation demo: each tenant invokes its own model, then every other tenant's, from a session of its invoke role (the README's policies):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CALLER\tISOLATION\tTARGET\tOUTCOME")
	var failures []string
	for _, caller := range demoTenants {
		client, err := s.demoClient(ctx, key, secret, caller)
		if err != nil {
			return fmt.Errorf("demo: session of %s: %w", caller.id, err)
		}
		for _, target := range demoTenants {
			route := serving.RouteOf(target.id, target.iso)
			body, err := demoInvoke(ctx, client, route, rows)
			outcome := "scores " + strings.Join(strings.Fields(string(body)), " ")
			var ae smithy.APIError
			if errors.As(err, &ae) {
				outcome = ae.ErrorCode()
			} else if err != nil {
				return fmt.Errorf("demo: invoke %s as %s: %w", target.id, caller.id, err)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", caller.id, caller.iso, target.id, outcome)
			if (err == nil) != (caller.id == target.id) {
				failures = append(failures, fmt.Sprintf("%s → %s: %s", caller.id, target.id, outcome))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("demo: isolation self-check failed:\n  %s", strings.Join(failures, "\n  "))
	}
	fmt.Fprintf(out, "Every cross-tenant call was denied and every own call answered; each call is in the audit log:\n  %s\n\n", demoLookupHint(s.cfg.DataDir))
	fmt.Fprint(out, demoCommands(s.listenURL(), s.cfg.Region, s.cfg.AccountID, key, secret, rowsPath))
	return nil
}

// demoDeploy deploys d's model unless it is deployed already (a restart
// with --demo).
func (s *server) demoDeploy(ctx context.Context, d demoTenant) error {
	if d.iso == tenant.Pool {
		if _, err := s.kp.artifacts.HeadObject(ctx, s.cfg.ModelBucket, onboard.ObjectKey(d.id, d.iso)); err == nil {
			return nil
		}
	} else if _, err := s.sp.controller.DescribeEndpoint(ctx, "", d.id); err == nil {
		_, err = s.sp.controller.WaitEndpoint(ctx, d.id)
		return err
	}
	model, err := demoModels.ReadFile("testdata/demo/" + d.id + ".tar.gz")
	if err != nil {
		return err
	}
	t, err := s.store.Tenants().FindTenant(ctx, d.id)
	if err != nil {
		return err
	}
	if t.Isolation != d.iso {
		return fmt.Errorf("tenant %s exists as %s, the demo wants %s", d.id, t.Isolation, d.iso)
	}
	if _, err := s.sp.deployer.Deploy(ctx, t, bytes.NewReader(model), artifact.Checks{ContentLength: int64(len(model))}); err != nil {
		return err
	}
	if d.iso == tenant.Pool {
		_, err = s.sp.controller.WaitEndpoint(ctx, serving.PoolEndpointName)
	}
	return err
}

// demoBrokerKey creates the demo broker (once) and a fresh access key for
// it, removing its earlier keys: the secret is shown only now.
func (s *server) demoBrokerKey(ctx context.Context) (string, string, error) {
	ids := s.store.Identity()
	acct := s.cfg.AccountID
	if err := ids.CreateUser(ctx, acct, &identity.User{Name: demoBroker, Path: "/demo/"}); err != nil && tenantml.AWSCodeOf(err) != identity.EntityAlreadyExists {
		return "", "", err
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":[` +
		`"arn:aws:iam::` + acct + `:role/acme","arn:aws:iam::` + acct + `:role/` + serving.PoolRoleName + `","arn:aws:iam::` + acct + `:role/` + serving.BridgeRoleName + `"]}]}`
	if err := ids.PutInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindUser, Name: demoBroker}, "assume-invoke-roles", doc); err != nil {
		return "", "", err
	}
	old, err := ids.ListAccessKeys(ctx, acct, demoBroker)
	if err != nil {
		return "", "", err
	}
	for _, k := range old {
		if err := ids.DeleteAccessKey(ctx, acct, demoBroker, k.ID); err != nil {
			return "", "", err
		}
	}
	id, secret, err := identity.NewAccessKey(s.rand)
	if err != nil {
		return "", "", err
	}
	sealed, err := identity.SealSecret(ctx, s.kek, id, secret)
	if err != nil {
		return "", "", err
	}
	if err := ids.CreateAccessKey(ctx, acct, &identity.AccessKey{ID: id, UserName: demoBroker, SealedSecret: sealed, Status: identity.Active}); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// inProcess sends requests to the server's own handler, without the
// network: the demo runs before the server serves.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	// A server sees the Host header and the peer's address, which a
	// client request leaves in its URL.
	in := r.Clone(r.Context())
	if in.Host == "" {
		in.Host = r.URL.Host
	}
	in.RemoteAddr, in.RequestURI = "127.0.0.1:0", r.URL.RequestURI()
	if in.Body == nil {
		in.Body = http.NoBody
	}
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, in)
	return w.Result(), nil
}

// demoClient is a SageMaker Runtime client with a session of d's invoke
// role, tagged with d's TenantID, obtained by the demo broker.
func (s *server) demoClient(ctx context.Context, key, secret string, d demoTenant) (*sagemakerruntime.Client, error) {
	hc := &http.Client{Transport: inProcess{s.handler}}
	base := aws.String("http://tenantml.internal")
	route := serving.RouteOf(d.id, d.iso)
	stsc := sts.New(sts.Options{Region: s.cfg.Region, BaseEndpoint: base, HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + s.cfg.AccountID + ":role/" + route.RoleName),
		RoleSessionName: aws.String("demo-" + d.id), Tags: []ststypes.Tag{{Key: aws.String(tenant.TagKey), Value: aws.String(d.id)}}})
	if err != nil {
		return nil, err
	}
	c := out.Credentials
	return sagemakerruntime.New(sagemakerruntime.Options{Region: s.cfg.Region, BaseEndpoint: base, HTTPClient: hc, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))}), nil
}

func demoInvoke(ctx context.Context, c *sagemakerruntime.Client, route serving.Route, rows []byte) ([]byte, error) {
	in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(route.Endpoint), ContentType: aws.String("text/csv"), Body: rows}
	if route.TargetModel != "" {
		in.TargetModel = aws.String(route.TargetModel)
	}
	out, err := c.InvokeEndpoint(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// listenURL is the URL the server answers on.
func (s *server) listenURL() string {
	scheme := "http"
	if s.cfg.TLSCert != "" || s.cfg.TLSSelfSigned {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// demoCommands are the AWS CLI commands a reader pastes into bash: one
// shell function that takes a session of an invoke role and invokes an
// endpoint, then an allowed and a denied call per tenant.
func demoCommands(url, region, acct, key, secret, rows string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Try it with the AWS CLI (paste into bash; the demo broker's key is shown only now):

export AWS_DEFAULT_REGION=%s
invoke() { # invoke ROLE TENANT ENDPOINT [TARGET_MODEL]: a session of ROLE tagged TenantID=TENANT invokes ENDPOINT
  local c; c=$(AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s aws sts assume-role --endpoint-url %s \
    --role-arn arn:aws:iam::%s:role/$1 --role-session-name demo --tags Key=TenantID,Value=$2 \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text) || return
  read -r k s t <<<"$c"
  AWS_ACCESS_KEY_ID=$k AWS_SECRET_ACCESS_KEY=$s AWS_SESSION_TOKEN=$t aws sagemaker-runtime invoke-endpoint --endpoint-url %s \
    --endpoint-name $3 ${4:+--target-model $4} --content-type text/csv --body fileb://%s /dev/stdout
}
`, region, key, secret, url, acct, url, rows)
	for _, d := range demoTenants {
		own := serving.RouteOf(d.id, d.iso)
		other := demoTenants[0]
		if other.id == d.id {
			other = demoTenants[1]
		}
		theirs := serving.RouteOf(other.id, other.iso)
		if d.iso == tenant.Pool {
			theirs = serving.Route{Endpoint: own.Endpoint, TargetModel: serving.PoolModelKey(other.id)}
		}
		fmt.Fprintf(&b, "\n# %s (%s): its own model answers; %s's is refused with AccessDeniedException\n", d.id, d.iso, other.id)
		fmt.Fprintf(&b, "invoke %s %s %s %s\n", own.RoleName, d.id, own.Endpoint, own.TargetModel)
		fmt.Fprintf(&b, "invoke %s %s %s %s\n", own.RoleName, d.id, theirs.Endpoint, theirs.TargetModel)
	}
	return b.String()
}

// demoLookupHint is the command that lists the demo's invocations from the
// audit log in dataDir (it reads beside the running server).
func demoLookupHint(dataDir string) string {
	return "tenantml audit lookup --data-dir " + dataDir + " --all --action InvokeEndpoint"
}
