package main

import (
	"strings"
	"testing"
)

// TestS3_ConditionKeys: S3's condition keys reach the IAM engine —
// s3:ExistingObjectTag, s3:RequestObjectTag, s3:x-amz-server-side-encryption-aws-kms-key-id
// (the key's ARN, whatever form the request names it in), s3:max-keys,
// s3:delimiter and aws:ResourceTag (the bucket's tags).
func TestS3_ConditionKeys(t *testing.T) {
	e := newS3Env(t)
	policy := `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::models/acme/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/stage":"prod"}}},
{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::models/acme/*","Condition":{"StringEquals":{"s3:RequestObjectTag/stage":"dev"}}},
{"Effect":"Deny","Action":"s3:PutObject","Resource":"*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption-aws-kms-key-id":"` + e.acmeKey + `"}}},
{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::*","Condition":{"StringEquals":{"aws:ResourceTag/team":"ml"},"NumericLessThanEquals":{"s3:max-keys":"10"},"Null":{"s3:delimiter":"true"}}},
{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"*"}]}`
	keyID, secret := kmsUser(t, e.ts, "acme-tagged", "acme", policy)
	u := &principal{kind: "tagged", keyID: keyID, secret: secret}
	e.root(t, "s3api", "put-object", "--bucket", "models", "--key", "acme/prod.bin", "--body", writeTemp(t, []byte("p")), "--tagging", "stage=prod", "--server-side-encryption", "aws:kms", "--ssekms-key-id", e.acmeKey)
	e.root(t, "s3api", "put-object", "--bucket", "models", "--key", "acme/dev.bin", "--body", writeTemp(t, []byte("d")), "--tagging", "stage=dev", "--server-side-encryption", "aws:kms", "--ssekms-key-id", e.acmeKey)
	e.root(t, "s3", "mb", "s3://tagged")
	e.root(t, "s3api", "put-bucket-tagging", "--bucket", "tagged", "--tagging", `{"TagSet":[{"Key":"team","Value":"ml"}]}`)
	keyUUID := e.acmeKey[strings.LastIndex(e.acmeKey, "/")+1:]
	tests := []struct {
		name   string
		req    signedRequest
		status int
	}{
		{"ExistingTagMatches", s3Req("GET", "/models/acme/prod.bin", nil), 200},
		{"ExistingTagDiffers", s3Req("GET", "/models/acme/dev.bin", nil), 403},
		{"RequestTagAndKeyARN", s3Req("PUT", "/models/acme/new.bin", []byte("x"), "X-Amz-Tagging", "stage=dev", "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", e.acmeKey), 200},
		{"KeyIDResolvedToARN", s3Req("PUT", "/models/acme/new2.bin", []byte("x"), "X-Amz-Tagging", "stage=dev", "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", keyUUID), 200},
		{"KeyAliasResolvedToARN", s3Req("PUT", "/models/acme/new3.bin", []byte("x"), "X-Amz-Tagging", "stage=dev", "X-Amz-Server-Side-Encryption", "aws:kms", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "alias/tenantml/artifacts"), 200},
		{"RequestTagDiffers", s3Req("PUT", "/models/acme/new4.bin", []byte("x"), "X-Amz-Tagging", "stage=prod"), 403},
		{"BucketTagMatches", s3Req("GET", "/tagged?list-type=2&max-keys=5", nil), 200},
		{"MaxKeysTooMany", s3Req("GET", "/tagged?list-type=2&max-keys=50", nil), 403},
		{"DelimiterPresent", s3Req("GET", "/tagged?list-type=2&max-keys=5&delimiter=/", nil), 403},
		{"BucketUntagged", s3Req("GET", "/models?list-type=2&max-keys=5", nil), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := send(t, e.ts, u, tt.req); r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
		})
	}
}

// TestS3_ListBucketsFiltered: ListBuckets shows a tenant principal the
// buckets it may list — never another tenant's, even when its policy
// allows every bucket.
func TestS3_ListBucketsFiltered(t *testing.T) {
	e := newS3Env(t)
	all := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:*"],"Resource":"*"}]}`
	some := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::shared-*"}]}`
	gk, gs := kmsUser(t, e.ts, "globex-all", "globex", all)
	ak, as := kmsUser(t, e.ts, "acme-all", "acme", all)
	sk, ss := kmsUser(t, e.ts, "acme-some", "acme", some)
	e.as(t, [2]string{gk, gs}, "s3", "mb", "s3://globex-private")
	e.as(t, [2]string{ak, as}, "s3", "mb", "s3://acme-private")
	e.root(t, "s3", "mb", "s3://shared-data")
	for _, tt := range []struct {
		name      string
		creds     [2]string
		want, not []string
	}{
		{"TenantAllowedEverything", [2]string{ak, as}, []string{"acme-private", "shared-data", "models"}, []string{"globex-private"}},
		{"TenantAllowedSome", [2]string{sk, ss}, []string{"shared-data"}, []string{"globex-private", "acme-private", "models"}},
		{"Operator", [2]string{rootKeyID, rootSecret}, []string{"acme-private", "globex-private", "shared-data", "models"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := e.as(t, tt.creds, "s3", "ls")
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("ls lacks %s:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("ls shows %s:\n%s", n, out)
				}
			}
		})
	}
}
