package authn

import "context"

// contextKey is unexported so no other package can read or overwrite the
// principal except through NewContext and FromContext.
type contextKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the principal carried by ctx and whether there is one.
// A missing or nil principal reports false: the request is not authenticated.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}
