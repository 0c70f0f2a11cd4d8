package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/onboard"
)

// servingEnv starts workers from the real tenantml binary.
func servingEnv(t testing.TB) map[string]string {
	env := map[string]string{"TENANTML_WORKER_EXECUTABLE": buildBinary(t)}
	for k, v := range rootEnv {
		env[k] = v
	}
	return env
}

// expected reads examples/models/expected.csv: xgboost's own predictions
// for examples/models/rows.csv.
func expected(t *testing.T) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "expected.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, line := range strings.Fields(string(b)) {
		v, err := strconv.ParseFloat(line, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func sameScores(t *testing.T, body []byte, want []float64) {
	t.Helper()
	got := strings.Fields(strings.ReplaceAll(string(body), ",", " "))
	if len(got) != len(want) {
		t.Fatalf("%d scores %q, want %d", len(got), body, len(want))
	}
	for i := range want {
		v, err := strconv.ParseFloat(got[i], 64)
		if err != nil || math.Abs(v-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("score %d = %q, want %v (xgboost)", i, got[i], want[i])
		}
	}
}

// TestServe_ModelDeployAndInvoke deploys the example XGBoost model for a
// silo, a pool and a bridge tenant with `tenantml model deploy`, then
// invokes it with aws-sdk-go-v2's SageMaker Runtime client from each
// tenant's session of its invoke role: the answers equal the real
// xgboost library's, and every cross-tenant call is refused.
func TestServe_ModelDeployAndInvoke(t *testing.T) {
	ts := startServer(t, servingEnv(t))
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")
	rows, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := expected(t)
	ctx := context.Background()
	results := map[string]onboard.Result{}
	s3cli := func(args ...string) {
		if out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", args...); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
	}
	s3cli("s3", "mb", "s3://uploads")
	for _, tn := range []struct{ id, iso string }{{"acme", "silo"}, {"globex", "pool"}, {"initech", "bridge"}} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", tn.id, "--isolation", tn.iso)
		src := model
		if tn.id == "globex" {
			// The pool tenant's model goes up with the AWS CLI under its
			// own key and is deployed from its s3:// URL.
			key, err := ts.kp.keys.DescribeKey(ctx, tn.id, artifact.DefaultKeyAlias)
			if err != nil {
				t.Fatal(err)
			}
			s3cli("s3", "cp", model, "s3://uploads/globex/model.tar.gz", "--sse", "aws:kms", "--sse-kms-key-id", key.Arn)
			src = "s3://uploads/globex/model.tar.gz"
		}
		out := ts.mustCLI(t, rootKeyID, rootSecret, "model", "deploy", "--tenant", tn.id, src, "-o", "json")
		var res onboard.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v in %s", tn.id, err, out)
		}
		results[tn.id] = res
	}
	// A platform broker (root) assumes each tenant's invoke role with the
	// TenantID session tag, as a SaaS backend does.
	session := func(tenantID string) *sagemakerruntime.Client {
		// Root cannot assume roles (as on AWS): the broker is an IAM user.
		creds := brokerSession(t, ts, results[tenantID].InvokeRole, tenantID)
		return sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))})
	}
	invoke := func(c *sagemakerruntime.Client, endpoint, target string) ([]byte, error) {
		in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), ContentType: aws.String("text/csv"), Body: rows}
		if target != "" {
			in.TargetModel = aws.String(target)
		}
		out, err := c.InvokeEndpoint(ctx, in)
		if err != nil {
			return nil, err
		}
		if aws.ToString(out.InvokedProductionVariant) != "AllTraffic" {
			t.Errorf("invoked variant %q", aws.ToString(out.InvokedProductionVariant))
		}
		return out.Body, nil
	}
	clients := map[string]*sagemakerruntime.Client{"acme": session("acme"), "globex": session("globex"), "initech": session("initech")}
	for id, res := range results {
		t.Run("Own/"+id, func(t *testing.T) {
			body, err := invoke(clients[id], res.Endpoint, res.TargetModel)
			if err != nil {
				t.Fatal(err)
			}
			sameScores(t, body, want)
		})
	}
	denied := func(t *testing.T, err error) {
		t.Helper()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("err = %v, want AccessDeniedException", err)
		}
	}
	for _, c := range []struct{ name, caller, endpoint, target string }{
		{"SiloOtherEndpoint", "acme", "initech", ""},
		{"BridgeOtherEndpoint", "initech", "acme", ""},
		{"PoolOtherModel", "globex", serving.PoolEndpointName, "acme.tar.gz"},
		{"PoolNoTargetModel", "globex", serving.PoolEndpointName, ""},
		{"SiloIntoPool", "acme", serving.PoolEndpointName, "globex.tar.gz"},
	} {
		t.Run("Denied/"+c.name, func(t *testing.T) {
			_, err := invoke(clients[c.caller], c.endpoint, c.target)
			denied(t, err)
		})
	}
	t.Run("ConcurrentPoolAndSilo", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			id := []string{"acme", "globex", "initech"}[i%3]
			wg.Add(1)
			go func() {
				defer wg.Done()
				body, err := invoke(clients[id], results[id].Endpoint, results[id].TargetModel)
				if err == nil && !strings.HasPrefix(strings.TrimSpace(string(body)), strconv.FormatFloat(want[0], 'g', 3, 64)[:3]) {
					err = &smithy.GenericAPIError{Code: "WrongAnswer", Message: string(body)}
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// brokerSession creates (once) a platform broker user allowed to assume
// invoke roles with a TenantID session tag, and returns a session of
// roleARN tagged with tenantID.
func brokerSession(t testing.TB, ts *testServer, roleARN, tenantID string) *ststypes.Credentials {
	t.Helper()
	c := stsAs(ts, ts.brokerKey(t))
	out, err := c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("app-" + tenantID),
		Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(tenantID)}}})
	if err != nil {
		t.Fatalf("assume %s for %s: %v", roleARN, tenantID, err)
	}
	return out.Credentials
}

// brokerKey creates, once per server, the platform broker: an IAM user
// allowed only to assume the invoke roles with a TenantID session tag.
func (ts *testServer) brokerKey(t testing.TB) [2]string {
	t.Helper()
	ts.brokerOnce.Do(func() {
		ctx := context.Background()
		c := iamClient(ts, rootKeyID, rootSecret)
		if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("broker")}); err != nil {
			t.Fatal(err)
		}
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*","Condition":{"StringLike":{"aws:RequestTag/TenantID":"*"}}},{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
		if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("broker"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
		out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("broker")})
		if err != nil {
			t.Fatal(err)
		}
		ts.broker = [2]string{aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)}
	})
	return ts.broker
}
