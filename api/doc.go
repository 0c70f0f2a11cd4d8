// Package api is the request pipeline every HTTP surface shares, and the
// only door to the domain services:
//
//	request ID → body limit → authenticate → authorize → handle → audit → respond
//
// A handler never writes to the client directly: it writes into a buffer,
// the pipeline records the audit event (allowed, denied and failed alike)
// and only once the event is durable does it send the buffered response. If
// the audit record cannot be written the request fails closed with 503.
//
// Errors follow one JSON shape, {"error":{"code","message","requestId"}},
// produced by Error, the single place that maps an application error code
// to an HTTP status. Internal detail is logged, never sent.
package api
