package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// s3Boto3Script drives the S3 surface with Debian's boto3: upload_file and
// download_file of a file above the 8 MiB multipart threshold (so
// create/upload-part/complete and ranged GETs), then presigned GET and PUT
// URLs used with urllib (no SDK, no credentials), one altered by a
// character.
const s3Boto3Script = `
import json, sys, urllib.request, urllib.error, boto3, botocore
endpoint, key, secret, src, dst, kms = sys.argv[1:7]
cfg = botocore.config.Config(retries={"max_attempts": 1}, signature_version="s3v4", s3={"addressing_style": "path"})
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)
out = {}
tc = boto3.s3.transfer.TransferConfig(multipart_threshold=8*1024*1024, multipart_chunksize=8*1024*1024)
s3.upload_file(src, "models", "acme/big.bin", ExtraArgs={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms}, Config=tc)
h = s3.head_object(Bucket="models", Key="acme/big.bin")
out["etag"], out["size"], out["sse"], out["kms"] = h["ETag"], h["ContentLength"], h["ServerSideEncryption"], h["SSEKMSKeyId"]
s3.download_file("models", "acme/big.bin", dst, Config=tc)
r = s3.get_object(Bucket="models", Key="acme/big.bin", Range="bytes=8388600-8388615")
out["range"], out["content_range"] = r["Body"].read().hex(), r["ContentRange"]
def fetch(url, method="GET", data=None):
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "models", "Key": "acme/big.bin"}, ExpiresIn=300)
st, body = fetch(get_url)
out["presigned_get"], out["presigned_get_bytes"] = st, len(body)
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "models", "Key": "acme/presigned.txt"}, ExpiresIn=300)
st, _ = fetch(put_url, "PUT", b"uploaded through a presigned URL")
out["presigned_put"] = st
out["presigned_put_back"] = s3.get_object(Bucket="models", Key="acme/presigned.txt")["Body"].read().decode()
i = get_url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
bad = get_url[:i] + ("0" if get_url[i] != "0" else "1") + get_url[i+1:]
st, body = fetch(bad)
out["altered"], out["altered_body"] = st, body.decode()
print(json.dumps(out))
`

func TestS3_Boto3(t *testing.T) {
	e := newS3Env(t)
	dir := t.TempDir()
	data := randomBytes(t, 20<<20+5)
	src, dst := filepath.Join(dir, "big.bin"), filepath.Join(dir, "back.bin")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	raw := runBoto3(t, s3Boto3Script, e.ts.URL, e.acme[0], e.acme[1], src, dst, e.acmeKey)
	var got struct {
		ETag, SSE, KMS    string
		Size              int64
		Range             string
		ContentRange      string `json:"content_range"`
		PresignedGet      int    `json:"presigned_get"`
		PresignedGetBytes int    `json:"presigned_get_bytes"`
		PresignedPut      int    `json:"presigned_put"`
		PresignedPutBack  string `json:"presigned_put_back"`
		Altered           int
		AlteredBody       string `json:"altered_body"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	back, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("download_file: %d bytes (%v), want the %d uploaded", len(back), err, len(data))
	}
	if got.Size != int64(len(data)) || got.SSE != "aws:kms" || got.KMS != e.acmeKey || got.ETag[len(got.ETag)-3:] != `-3"` {
		t.Errorf("head_object = %+v; want a 3-part ETag under acme's key", got)
	}
	if want := hexOf(data[8388600:8388616]); got.Range != want || got.ContentRange != "bytes 8388600-8388615/20971525" {
		t.Errorf("range = %s %s, want %s", got.Range, got.ContentRange, want)
	}
	if got.PresignedGet != 200 || got.PresignedGetBytes != len(data) {
		t.Errorf("presigned GET = %d, %d bytes", got.PresignedGet, got.PresignedGetBytes)
	}
	if got.PresignedPut != 200 || got.PresignedPutBack != "uploaded through a presigned URL" {
		t.Errorf("presigned PUT = %d, read back %q", got.PresignedPut, got.PresignedPutBack)
	}
	if got.Altered != 403 || !bytes.Contains([]byte(got.AlteredBody), []byte("<Code>SignatureDoesNotMatch</Code>")) {
		t.Errorf("altered presigned URL = %d %s", got.Altered, got.AlteredBody)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
