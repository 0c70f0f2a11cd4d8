package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"
)

// apiClient calls the management API with the caller's credentials,
// signing every request with AWS Signature Version 4 (the secret never
// crosses the wire).
type apiClient struct {
	endpoint     string
	region       string
	accessKeyID  string
	secret       string
	sessionToken string
	http         *http.Client
	signer       *v4.Signer
}

// addClientFlags registers the flags every API-calling command shares.
func addClientFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("endpoint", "", "API endpoint (env TENANTML_ENDPOINT, default http://127.0.0.1:8080)")
	f.String("profile", "", "profile in ~/.tenantml/credentials (env TENANTML_PROFILE, default \"default\")")
	f.String("ca-bundle", "", "PEM file of the certificates to trust for an https:// endpoint instead of the system's (env TENANTML_CA_BUNDLE)")
	f.StringP("output", "o", "table", outputHelp)
}

// newAPIClient resolves endpoint and credentials: flags, then
// TENANTML_ENDPOINT / TENANTML_ACCESS_KEY_ID / TENANTML_SECRET_ACCESS_KEY,
// then the profile file.
func newAPIClient(cmd *cobra.Command) (*apiClient, error) {
	c := &apiClient{http: &http.Client{Timeout: 60 * time.Second}, signer: v4.NewSigner()}
	c.endpoint, _ = cmd.Flags().GetString("endpoint")
	if c.endpoint == "" {
		c.endpoint = os.Getenv("TENANTML_ENDPOINT")
	}
	profile, _ := cmd.Flags().GetString("profile")
	if profile == "" {
		profile = os.Getenv("TENANTML_PROFILE")
	}
	c.accessKeyID, c.secret = os.Getenv("TENANTML_ACCESS_KEY_ID"), os.Getenv("TENANTML_SECRET_ACCESS_KEY")
	c.sessionToken, c.region = os.Getenv("TENANTML_SESSION_TOKEN"), os.Getenv("TENANTML_REGION")
	caBundle, _ := cmd.Flags().GetString("ca-bundle")
	if caBundle == "" {
		caBundle = os.Getenv("TENANTML_CA_BUNDLE")
	}
	if c.accessKeyID == "" || profile != "" {
		if profile == "" {
			profile = "default"
		}
		p, err := readProfile(profile)
		if err != nil {
			return nil, err
		}
		c.accessKeyID, c.secret, c.sessionToken = p["access_key_id"], p["secret_access_key"], p["session_token"]
		if c.region == "" {
			c.region = p["region"]
		}
		if c.endpoint == "" {
			c.endpoint = p["endpoint"]
		}
		if caBundle == "" {
			caBundle = p["ca_bundle"]
		}
	}
	if caBundle != "" {
		tr, err := caBundleTransport(caBundle)
		if err != nil {
			return nil, err
		}
		c.http.Transport = tr
	}
	if c.endpoint == "" {
		c.endpoint = "http://127.0.0.1:8080"
	}
	if c.region == "" {
		c.region = "us-east-1"
	}
	c.endpoint = strings.TrimRight(c.endpoint, "/")
	if c.accessKeyID == "" || c.secret == "" {
		return nil, fmt.Errorf("no credentials: set TENANTML_ACCESS_KEY_ID and TENANTML_SECRET_ACCESS_KEY, or write a profile to ~/.tenantml/credentials")
	}
	return c, nil
}

// readProfile reads one [section] of ~/.tenantml/credentials (INI, like the
// AWS CLI's credentials file). A missing file is not an error when the
// default profile is asked for.
func readProfile(name string) (map[string]string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("find home directory: %w", err)
	}
	path := filepath.Join(home, ".tenantml", "credentials")
	f, err := os.Open(path)
	if os.IsNotExist(err) && name == "default" {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open credentials: %w", err)
	}
	defer f.Close()
	out, section, found := map[string]string{}, "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.TrimSpace(line[1 : len(line)-1])
			found = found || section == name
		case section == name:
			k, v, ok := strings.Cut(line, "=")
			if ok {
				out[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	if !found && name != "default" {
		return nil, fmt.Errorf("profile %q not found in %s", name, path)
	}
	return out, nil
}

// apiError is an error answer of the management API.
type apiError struct {
	Status    int
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%d %s, request %s)", e.Message, e.Status, e.Code, e.RequestID)
}

// do sends a JSON request and decodes a JSON response into out (if not nil).
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		payload = b
	}
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(payload)
	creds := aws.Credentials{AccessKeyID: c.accessKeyID, SecretAccessKey: c.secret, SessionToken: c.sessionToken}
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "tenantml", c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// unsignedPayload is the SigV4 payload hash of a streamed body: the body is
// not covered by the signature (as for S3 uploads); the artifact API checks
// its content with the X-Tenantml-Sha256 header instead.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// stream sends a request whose body (nil for none) is streamed, never held
// in memory, with size bytes (-1 when unknown: chunked), and returns the
// response for the caller to read and close. A body is signed as
// UNSIGNED-PAYLOAD; an answer of 300 or more is returned as *apiError.
// There is no overall timeout: ctx bounds the transfer.
func (c *apiClient) stream(ctx context.Context, method, path string, body io.Reader, size int64, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	hash := hex.EncodeToString(sha256.New().Sum(nil))
	if body != nil {
		req.ContentLength = size
		if size == 0 {
			req.Body = http.NoBody
		}
		hash = unsignedPayload
		req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		// The server refuses (403, 404, 413, ...) before reading the
		// body, so a refused upload need not send it (Expect is not
		// signed).
		req.Header.Set("Expect", "100-continue")
	}
	creds := aws.Credentials{AccessKeyID: c.accessKeyID, SecretAccessKey: c.secret, SessionToken: c.sessionToken}
	if err := c.signer.SignHTTP(ctx, creds, req, hash, "tenantml", c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", c.endpoint, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return nil, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		e.Error.Status = resp.StatusCode
		return nil, &e.Error
	}
	return resp, nil
}

// s3Get opens s3://bucket/key through the server's S3 API, signed for s3
// with the caller's credentials (so s3:GetObject and kms:Decrypt are
// decided for the caller), and returns the response for the caller to
// stream and close. An S3 error answer is an *apiError.
func (c *apiClient) s3Get(ctx context.Context, bucket, key string) (*http.Response, error) {
	u := &url.URL{Path: "/" + bucket + "/" + key}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint+u.EscapedPath(), nil)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	empty := hex.EncodeToString(sha256.New().Sum(nil))
	req.Header.Set("X-Amz-Content-Sha256", empty)
	creds := aws.Credentials{AccessKeyID: c.accessKeyID, SecretAccessKey: c.secret, SessionToken: c.sessionToken}
	if err := c.signer.SignHTTP(ctx, creds, req, empty, "s3", c.region, time.Now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", c.endpoint, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Code      string `xml:"Code"`
			Message   string `xml:"Message"`
			RequestID string `xml:"RequestId"`
		}
		if xml.Unmarshal(data, &e) != nil || e.Code == "" {
			return nil, fmt.Errorf("GET s3://%s/%s: HTTP %d", bucket, key, resp.StatusCode)
		}
		return nil, &apiError{Status: resp.StatusCode, Code: e.Code, Message: e.Message, RequestID: e.RequestID}
	}
	return resp, nil
}
