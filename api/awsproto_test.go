package api_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
)

func TestQueryProtocol_WriteResult(t *testing.T) {
	q := &api.QueryProtocol{Namespace: "https://sts.amazonaws.com/doc/2011-06-15/", NotFound: "NoSuchEntity", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
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

func TestQueryProtocol_WriteError(t *testing.T) {
	q := &api.QueryProtocol{Namespace: "https://iam.amazonaws.com/doc/2010-05-08/", NotFound: "NoSuchEntity", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		name       string
		err        error
		wantCode   string
		wantStatus int
		wantType   string
	}{
		{"NotFound", tenantml.Errorf(tenantml.ENOTFOUND, "role x not found"), "NoSuchEntity", 404, "Sender"},
		{"Invalid", tenantml.Errorf(tenantml.EINVALID, "bad"), "ValidationError", 400, "Sender"},
		{"Authn", authn.Errorf(authn.CodeSignatureDoesNotMatch, "sig"), "SignatureDoesNotMatch", 403, "Sender"},
		{"AWS", api.AWSErrorf(409, "EntityAlreadyExists", "exists"), "EntityAlreadyExists", 409, "Sender"},
		{"Internal", io.ErrUnexpectedEOF, "InternalFailure", 500, "Receiver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/", nil)
			q.WriteError(w, r, tt.err)
			var got struct {
				Error struct{ Type, Code, Message string }
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.wantStatus || got.Error.Code != tt.wantCode || got.Error.Type != tt.wantType {
				t.Fatalf("status %d %+v, want %d %s %s", w.Code, got.Error, tt.wantStatus, tt.wantCode, tt.wantType)
			}
			if tt.name == "Internal" && strings.Contains(w.Body.String(), "EOF") {
				t.Fatal("internal detail leaked")
			}
		})
	}
}

func TestWriteJSON11Error(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/", nil).WithContext(context.Background())
	api.WriteJSON11Error(w, r, slog.New(slog.NewTextHandler(io.Discard, nil)), tenantml.Errorf(tenantml.ENOTFOUND, "key not found"), "NotFoundException")
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusNotFound || got["__type"] != "NotFoundException" || w.Header().Get("X-Amzn-ErrorType") != "NotFoundException" {
		t.Fatalf("%d %v %v", w.Code, got, w.Header())
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
	if _, err := api.ParseForm(r); api.ToAWSError(err, "").Code != "InvalidParameterValue" {
		t.Fatalf("json body accepted: %v", err)
	}
}
