package main

import (
	"net/http"
	"net/url"
	"strings"
)

// oipRoute is a template of an Open Inference Protocol route naming
// another tenant's model: its endpoint, or its model in the platform's
// pool (whose endpoint is not globex's: opRelated, as for InvokeEndpoint).
func oipRoute(pattern, variant string, path func(x *crossTarget) string, body string) crossCase {
	method, _, _ := strings.Cut(pattern, " ")
	c := crossCase{op: pattern, variant: variant, build: func(x *crossTarget) signedRequest {
		req := signedRequest{method: method, path: path(x), service: "sagemaker", header: http.Header{}}
		if body != "" {
			req.body = []byte(body)
			req.header.Set("Content-Type", "application/json")
		}
		return req
	}}
	if variant == "pool" {
		c.operator = opRelated
	}
	return c
}

// oipCases are the Open Inference Protocol's templates.
func oipCases() []crossCase {
	const infer = `{"inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP32","data":[2,89.5,4,21]}]}`
	endpoint := func(suffix string) func(x *crossTarget) string {
		return func(x *crossTarget) string { return "/v2/models/" + x.endpoint + suffix }
	}
	poolModel := func(suffix string) func(x *crossTarget) string {
		return func(x *crossTarget) string {
			return "/v2/models/" + x.pool + "." + url.PathEscape(x.poolModel) + suffix
		}
	}
	var out []crossCase
	for _, r := range []struct{ pattern, suffix, body string }{
		{"GET /v2/models/{name}", "", ""},
		{"GET /v2/models/{name}/ready", "/ready", ""},
		{"POST /v2/models/{name}/infer", "/infer", infer},
		{"GET /v2/models/{name}/versions/{version}", "/versions/AllTraffic", ""},
		{"GET /v2/models/{name}/versions/{version}/ready", "/versions/AllTraffic/ready", ""},
		{"POST /v2/models/{name}/versions/{version}/infer", "/versions/AllTraffic/infer", infer},
	} {
		out = append(out, oipRoute(r.pattern, "endpoint", endpoint(r.suffix), r.body), oipRoute(r.pattern, "pool", poolModel(r.suffix), r.body))
	}
	for _, op := range []string{"load", "unload"} {
		pattern := "POST /v2/repository/models/{name}/" + op
		out = append(out,
			oipRoute(pattern, "endpoint", func(x *crossTarget) string { return "/v2/repository/models/" + x.endpoint + "/" + op }, ""),
			oipRoute(pattern, "pool", func(x *crossTarget) string {
				return "/v2/repository/models/" + x.pool + "." + url.PathEscape(x.poolModel) + "/" + op
			}, ""))
	}
	index := oipRoute("POST /v2/repository/index", "", func(*crossTarget) string { return "/v2/repository/index" }, `{}`)
	index.kind = crossList
	return append(out, index)
}
