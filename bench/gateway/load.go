package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// gciBody is the query-protocol body of STS GetCallerIdentity, as the AWS
// CLI sends it.
const gciBody = "Action=GetCallerIdentity&Version=2011-06-15"

// principal is one kind of caller and its credentials.
type principal struct {
	name  string
	creds aws.Credentials
	what  string // how the server resolves it
}

// setupPrincipals creates, through the server's own APIs, the callers named
// in names: root (the operator's key), user (an IAM user's long-term key),
// session (AssumeRole credentials) and tenant-session (AssumeRole tagged
// TenantID=acme, a registered tenant).
func setupPrincipals(ctx context.Context, c *child, names []string) ([]principal, error) {
	iamc := c.rootIAM()
	var user aws.Credentials
	for _, n := range names {
		if n != "root" && user.AccessKeyID == "" {
			var err error
			if user, err = createAssumer(ctx, iamc, "bench-user"); err != nil {
				return nil, err
			}
		}
	}
	assume := func(role string, tags []ststypes.Tag) (aws.Credentials, error) {
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/bench-user"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			return aws.Credentials{}, fmt.Errorf("create role: %w", err)
		}
		stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.url), Credentials: credentials.StaticCredentialsProvider{Value: user}, HTTPClient: c.http})
		out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/" + role), RoleSessionName: aws.String("bench"), Tags: tags})
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("assume role %s: %w", role, err)
		}
		return aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}, nil
	}
	var out []principal
	for _, n := range names {
		p := principal{name: n}
		switch n {
		case "root":
			p.creds, p.what = aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}, "root key: constant-time compare, no store read"
		case "user":
			p.creds, p.what = user, "IAM user key: access key + user from the store, secret unsealed"
		case "session":
			creds, err := assume("bench-role", nil)
			if err != nil {
				return nil, err
			}
			p.creds, p.what = creds, "session token opened (AES-GCM), role read for revocation"
		case "tenant-session":
			if err := createTenant(ctx, c, "acme"); err != nil {
				return nil, err
			}
			creds, err := assume("bench-tenant-role", []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}})
			if err != nil {
				return nil, err
			}
			p.creds, p.what = creds, "as session, plus the tenant gate and the audit event's fields sealed under the tenant's key"
		default:
			return nil, fmt.Errorf("unknown principal %q (want root, user, session, tenant-session)", n)
		}
		out = append(out, p)
	}
	return out, nil
}

// rootIAM is an IAM client of the server as the operator's root key.
func (c *child) rootIAM() *iam.Client {
	root := aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.url), Credentials: credentials.StaticCredentialsProvider{Value: root}, HTTPClient: c.http})
}

// createAssumer creates IAM user name, allowed to assume any role with
// session tags (as a SaaS backend's broker is), and returns its new key.
func createAssumer(ctx context.Context, iamc *iam.Client, name string) (aws.Credentials, error) {
	if _, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return aws.Credentials{}, fmt.Errorf("create user %s: %w", name, err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`
	if _, err := iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("assume"), PolicyDocument: aws.String(policy)}); err != nil {
		return aws.Credentials{}, fmt.Errorf("put user policy: %w", err)
	}
	k, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("create access key: %w", err)
	}
	return aws.Credentials{AccessKeyID: *k.AccessKey.AccessKeyId, SecretAccessKey: *k.AccessKey.SecretAccessKey}, nil
}

// createTenant registers a tenant through the management API (HTTP Basic
// with the root key, as the tests do).
func createTenant(ctx context.Context, c *child, id string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.url+"/api/v1/tenants", strings.NewReader(`{"id":"`+id+`","isolation":"pool"}`))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(rootKeyID, rootSecret)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("create tenant: HTTP %d %s", resp.StatusCode, b)
	}
	return nil
}

// presign signs n GetCallerIdentity requests for url with creds and
// returns their headers and the mean signing time: the load generator
// replays them, so signing is not part of its measured CPU.
func presign(url string, creds aws.Credentials, n int) ([]http.Header, time.Duration, error) {
	signer := v4.NewSigner()
	sum := sha256.Sum256([]byte(gciBody))
	hash := hex.EncodeToString(sum[:])
	out := make([]http.Header, n)
	start := time.Now()
	for i := range out {
		req, err := http.NewRequest("POST", url+"/", strings.NewReader(gciBody))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if creds.SessionToken != "" {
			req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
		}
		if err := signer.SignHTTP(context.Background(), creds, req, hash, "sts", "us-east-1", time.Now()); err != nil {
			return nil, 0, fmt.Errorf("sign: %w", err)
		}
		out[i] = req.Header
	}
	return out, time.Since(start) / time.Duration(n), nil
}

// send posts one pre-signed GetCallerIdentity and reads the answer.
func send(hc *http.Client, url string, hdr http.Header) error {
	req, err := http.NewRequest("POST", url+"/", strings.NewReader(gciBody))
	if err != nil {
		return err
	}
	req.Header = hdr
	return roundTrip(hc, req)
}

func roundTrip(hc *http.Client, req *http.Request) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// latencies times n sequential calls of do after warm calls.
func latencies(n, warm int, do func(i int) error) ([]time.Duration, error) {
	for i := range warm {
		if err := do(i); err != nil {
			return nil, err
		}
	}
	out := make([]time.Duration, n)
	for i := range out {
		start := time.Now()
		if err := do(i); err != nil {
			return nil, err
		}
		out[i] = time.Since(start)
	}
	return out, nil
}

// throughput runs one client per pool, each replaying its own pre-signed
// GetCallerIdentity requests as fast as the server answers, for warm then
// d, and returns how many completed during d.
func throughput(hc *http.Client, url string, pools [][]http.Header, warm, d time.Duration, measure func(start bool)) (int64, error) {
	return throughputOf(len(pools), warm, d, func(c, i int) error { return send(hc, url, pools[c][i%len(pools[c])]) }, measure)
}

// throughputOf runs clients goroutines, each calling call(client, i) for
// i = 0, 1, ... as fast as it returns, for warm then d; measure is called
// at the start and at the end of d. It returns how many calls completed
// during d.
func throughputOf(clients int, warm, d time.Duration, call func(client, i int) error, measure func(start bool)) (int64, error) {
	var (
		count    atomic.Int64
		counting atomic.Bool
		stop     atomic.Bool
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if err := call(c, i); err != nil {
					errOnce.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
				if counting.Load() {
					count.Add(1)
				}
			}
		}()
	}
	time.Sleep(warm) // the load's own warm-up, not a synchronisation
	measure(true)
	counting.Store(true)
	time.Sleep(d)
	counting.Store(false)
	measure(false)
	stop.Store(true)
	wg.Wait()
	return count.Load(), firstErr
}
