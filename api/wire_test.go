package api_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
)

func TestQueryProtocol_WriteResult(t *testing.T) {
	q := &api.QueryProtocol{Namespace: "https://sts.amazonaws.com/doc/2011-06-15/", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	type result struct {
		Arn     string `xml:"Arn"`
		Account string `xml:"Account"`
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", nil)
	q.WriteResult(w, r, "GetCallerIdentity", result{Arn: "arn:aws:iam::123456789012:root", Account: "123456789012"})
	var got struct {
		XMLName xml.Name `xml:"GetCallerIdentityResponse"`
		Xmlns   string   `xml:"xmlns,attr"`
		Result  result   `xml:"GetCallerIdentityResult"`
		Meta    struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
	if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%v in %s", err, w.Body)
	}
	if got.Result.Account != "123456789012" || got.Xmlns != q.Namespace || w.Header().Get("Content-Type") != "text/xml" {
		t.Fatalf("response = %+v\n%s", got, w.Body)
	}
}

// iamDialect names a missing resource NoSuchEntity, as IAM does.
var iamDialect = api.Dialect{tenantml.ENOTFOUND: {Code: "NoSuchEntity", Status: http.StatusNotFound}}

// TestProtocols_Describe checks the one mapping from an error to its wire
// code and status, per protocol: the dialect's code for a kind, the
// error's own AWS code and status when it has them, the management API's
// 401 where AWS answers 403, and never internal detail.
func TestProtocols_Describe(t *testing.T) {
	kmsLike := &api.JSONProtocol{Dialect: api.Dialect{tenantml.ENOTFOUND: {Code: "NotFoundException", Status: 400}}}
	tests := []struct {
		name       string
		proto      api.Protocol
		err        error
		wantCode   string
		wantStatus int
	}{
		{"QueryNotFound", &api.QueryProtocol{Dialect: iamDialect}, tenantml.Errorf(tenantml.ENOTFOUND, "role x not found"), "NoSuchEntity", 404},
		{"QueryInvalid", &api.QueryProtocol{Dialect: iamDialect}, tenantml.Errorf(tenantml.EINVALID, "bad"), "ValidationError", 400},
		{"QueryAuthn", &api.QueryProtocol{Dialect: iamDialect}, authn.Errorf(authn.CodeSignatureDoesNotMatch, "sig"), "SignatureDoesNotMatch", 403},
		{"QueryAuthnStatus", &api.QueryProtocol{Dialect: iamDialect}, authn.Errorf(authn.CodeIncompleteSignature, "sig"), "IncompleteSignature", 400},
		{"QueryOwnCode", &api.QueryProtocol{Dialect: iamDialect}, tenantml.AWSErrorf(tenantml.ECONFLICT, "EntityAlreadyExists", "exists"), "EntityAlreadyExists", 409},
		{"QueryThrottled", &api.QueryProtocol{Dialect: iamDialect}, tenantml.Errorf(tenantml.ETOOMANYREQUESTS, "slow down"), "Throttling", 400},
		{"QueryInternal", &api.QueryProtocol{Dialect: iamDialect}, io.ErrUnexpectedEOF, "InternalFailure", 500},
		{"JSONDialect", kmsLike, tenantml.Errorf(tenantml.ENOTFOUND, "key not found"), "NotFoundException", 400},
		{"JSONOwnCode", kmsLike, tenantml.AWSErrorf(tenantml.EINVALID, "SerializationException", "bad json"), "SerializationException", 400},
		{"S3Denied", &api.S3Protocol{}, tenantml.Errorf(tenantml.EFORBIDDEN, "no"), "AccessDenied", 403},
		{"S3Throttled", &api.S3Protocol{}, tenantml.Errorf(tenantml.ETOOMANYREQUESTS, "slow down"), "SlowDown", 503},
		{"S3QuotaOwnCode", &api.S3Protocol{}, tenantml.AWSErrorf(tenantml.ETOOMANYREQUESTS, "ResourceLimitExceeded", "quota"), "SlowDown", 503},
		{"S3StoreCode", &api.S3Protocol{}, tenantml.AWSErrorf(tenantml.ECONFLICT, "BucketNotEmpty", "not empty"), "BucketNotEmpty", 409},
		{"S3Range", &api.S3Protocol{}, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidRange", "range"), "InvalidRange", 416},
		{"S3UnknownKey", &api.S3Protocol{}, authn.Errorf(authn.CodeInvalidClientTokenID, "key"), "InvalidAccessKeyId", 403},
		{"S3Invalid", &api.S3Protocol{}, tenantml.Errorf(tenantml.EINVALID, "bad"), "InvalidArgument", 400},
		{"S3Internal", &api.S3Protocol{}, io.ErrUnexpectedEOF, "InternalError", 500},
		{"ManagementAuthn", api.ManagementProtocol{}, authn.Errorf(authn.CodeSignatureDoesNotMatch, "sig"), "SignatureDoesNotMatch", 401},
		{"ManagementKind", api.ManagementProtocol{}, tenantml.Errorf(tenantml.ENOTFOUND, "x"), "not_found", 404},
		{"ManagementInternal", api.ManagementProtocol{}, io.ErrUnexpectedEOF, "internal", 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.proto.Describe(tt.err)
			if e.Code != tt.wantCode || e.Status != tt.wantStatus {
				t.Fatalf("Describe = %s %d, want %s %d", e.Code, e.Status, tt.wantCode, tt.wantStatus)
			}
			w := httptest.NewRecorder()
			tt.proto.WriteError(w, httptest.NewRequest("POST", "/", nil), e)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantCode) {
				t.Fatalf("wrote %d %s, want %d with %s", w.Code, w.Body, tt.wantStatus, tt.wantCode)
			}
			if strings.Contains(w.Body.String(), "EOF") {
				t.Fatal("internal detail leaked")
			}
		})
	}
}

func TestQueryProtocol_WriteError(t *testing.T) {
	q := &api.QueryProtocol{Namespace: "https://iam.amazonaws.com/doc/2010-05-08/", Dialect: iamDialect}
	for _, tt := range []struct {
		err      error
		wantType string
	}{{tenantml.Errorf(tenantml.ENOTFOUND, "x"), "Sender"}, {io.ErrUnexpectedEOF, "Receiver"}} {
		w := httptest.NewRecorder()
		q.WriteError(w, httptest.NewRequest("POST", "/", nil), q.Describe(tt.err))
		var got struct {
			Xmlns string `xml:"xmlns,attr"`
			Error struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Error.Type != tt.wantType || got.Xmlns != q.Namespace {
			t.Fatalf("%+v, want type %s", got, tt.wantType)
		}
	}
}

func TestProtocols_RetryAfter(t *testing.T) {
	err := &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, Message: "slow down", RetryAfter: 1500 * time.Millisecond}
	for _, p := range []api.Protocol{&api.QueryProtocol{}, &api.JSONProtocol{}, &api.S3Protocol{}, api.ManagementProtocol{}} {
		w := httptest.NewRecorder()
		p.WriteError(w, httptest.NewRequest("GET", "/", nil), p.Describe(err))
		if got := w.Header().Get("Retry-After"); got != "2" {
			t.Fatalf("%T: Retry-After %q, want 2", p, got)
		}
	}
}

func TestManagementProtocol_Unauthorized(t *testing.T) {
	w := httptest.NewRecorder()
	p := api.ManagementProtocol{}
	p.WriteError(w, httptest.NewRequest("GET", "/", nil), p.Describe(authn.Errorf(authn.CodeMissingAuthenticationToken, "no credentials")))
	var body api.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" || body.Error.Code != authn.CodeMissingAuthenticationToken {
		t.Fatalf("%d %v %+v", w.Code, w.Header(), body)
	}
}

func TestParseForm(t *testing.T) {
	r := httptest.NewRequest("POST", "/?Version=2011-06-15", strings.NewReader("Action=GetCallerIdentity"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	f, err := api.ParseForm(r)
	if err != nil || f.Get("Action") != "GetCallerIdentity" || f.Get("Version") != "2011-06-15" {
		t.Fatalf("form %v err %v", f, err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	if _, err := api.ParseForm(r); tenantml.AWSCodeOf(err) != "InvalidParameterValue" {
		t.Fatalf("json body accepted: %v", err)
	}
}
