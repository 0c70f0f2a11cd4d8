package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
)

// BenchmarkServe_GetCallerIdentity sends pre-signed STS GetCallerIdentity
// requests through the in-process server over loopback HTTP, from one
// client and from 64, as the root key, an IAM user's key, a role session and
// a tenant session (session tagged TenantID: tenant gate, audit fields
// sealed under the tenant's key). It reports the audit events per fsync and
// the store reads per request, and is there to profile the server:
//
//	go test -run '^$' -bench 'GetCallerIdentity/root/clients=64' -cpuprofile cpu.out ./cmd/tenantml
//	go tool pprof -top -cum -focus 'http.\(\*conn\).serve|audit.\(\*Log\).run' cpu.out
//
// The load generator shares the process (and the profile): bench/gateway
// measures the same path with the server in its own process, for latency,
// throughput and CPU per request.
func BenchmarkServe_GetCallerIdentity(b *testing.B) {
	env := maps.Clone(rootEnv)
	env["TENANTML_LOG_LEVEL"] = "warn"
	ts := startServerClock(b, env, time.Now)
	db, ok := store.Unwrap(ts.store).(*sqlite.DB)
	if !ok {
		b.Fatalf("store is %T, want SQLite", ts.store)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	principals := benchPrincipals(context.Background(), b, ts)
	for _, name := range []string{"root", "user", "session", "tenant-session"} {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/clients=%d", name, clients), func(b *testing.B) {
				signed := presignGCI(b, ts.URL, principals[name], 256)
				send := func(i int) bool {
					req, err := http.NewRequest("POST", ts.URL+"/", strings.NewReader(gciQuery))
					if err != nil {
						b.Error(err)
						return false
					}
					req.Header = signed[i%len(signed)]
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return false
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("HTTP %d", resp.StatusCode)
						return false
					}
					return true
				}
				runClients(b, ts, db, clients, send)
			})
		}
	}
}

// runClients calls send b.N times, from one client (sequentially) or from
// clients concurrent ones, and reports the audit events per group commit
// (fsync) and the store reads per call.
func runClients(b *testing.B, ts *testServer, db *sqlite.DB, clients int, send func(i int) bool) {
	b.Helper()
	before, reads := ts.audit.Stats(), db.Reads()
	b.ResetTimer()
	if clients == 1 {
		for i := 0; b.Loop() && send(i); i++ {
		}
	} else {
		b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next() && send(i); i++ {
			}
		})
	}
	st := ts.audit.Stats()
	b.ReportMetric(float64(st.Appended-before.Appended)/float64(max(1, st.Batches-before.Batches)), "events/fsync")
	b.ReportMetric(float64(db.Reads()-reads)/float64(b.N), "store-reads/op")
}

// gciQuery is the body the AWS CLI sends for GetCallerIdentity.
const gciQuery = "Action=GetCallerIdentity&Version=2011-06-15"

// presignGCI signs n GetCallerIdentity requests ahead of the timed loop.
func presignGCI(b *testing.B, url string, creds aws.Credentials, n int) []http.Header {
	b.Helper()
	sum := sha256.Sum256([]byte(gciQuery))
	signer := v4.NewSigner()
	out := make([]http.Header, n)
	for i := range out {
		req, err := http.NewRequest("POST", url+"/", strings.NewReader(gciQuery))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if creds.SessionToken != "" {
			req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
		}
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		out[i] = req.Header
	}
	return out
}

// benchPrincipals creates, through the API, an IAM user (allowed to assume
// roles), a role session and a session tagged TenantID=acme of a registered
// tenant, and returns their credentials with the root key's.
func benchPrincipals(ctx context.Context, b *testing.B, ts *testServer) map[string]aws.Credentials {
	b.Helper()
	req, err := http.NewRequest("POST", ts.URL+"/api/v1/tenants", strings.NewReader(`{"id":"acme"}`))
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(rootKeyID, rootSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create tenant: HTTP %d", resp.StatusCode)
	}
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("broker")}); err != nil {
		b.Fatal(err)
	}
	allow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("broker"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(allow)}); err != nil {
		b.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("broker")})
	if err != nil {
		b.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:user/broker"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("invoke"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		b.Fatal(err)
	}
	user := aws.Credentials{AccessKeyID: *key.AccessKey.AccessKeyId, SecretAccessKey: *key.AccessKey.SecretAccessKey}
	stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: credentials.StaticCredentialsProvider{Value: user}})
	assume := func(tags []ststypes.Tag) aws.Credentials {
		out, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + ts.cfg.AccountID + ":role/invoke"), RoleSessionName: aws.String("bench"), Tags: tags})
		if err != nil {
			b.Fatal(err)
		}
		c := out.Credentials
		return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
	}
	return map[string]aws.Credentials{
		"root":           {AccessKeyID: rootKeyID, SecretAccessKey: rootSecret},
		"user":           user,
		"session":        assume(nil),
		"tenant-session": assume([]ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}),
	}
}
