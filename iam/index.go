package iam

import "slices"

// IdentityIndex is an immutable collection of identity-based policies indexed
// by (action, resource): statements that name literal actions and literal
// resources are found by one hash lookup, the others are always evaluated.
// Deciding against it stays flat however many policies it holds (for example
// one set holding every silo tenant's policy). It owns a copy of the policy
// list, so later changes to the caller's slice do not affect it.
type IdentityIndex struct {
	policies []*Policy
	exact    map[string][]stmtRef
	rest     []stmtRef // statements that can match more than one (action, resource)
}

// stmtRef locates a statement in IdentityIndex.policies.
type stmtRef struct {
	policy, stmt int32
}

// maxIndexCombos bounds the (action, resource) pairs one statement adds to
// the index; a statement with more goes to the always-evaluated list.
const maxIndexCombos = 16

// NewIdentityIndex indexes identity-based policies. Nil entries are skipped.
// Statements the index rules out are not evaluated, so an implicit deny's
// reason may name fewer near-miss statements than a plain scan would.
func NewIdentityIndex(policies []*Policy) *IdentityIndex {
	ix := &IdentityIndex{policies: slices.Clone(policies), exact: make(map[string][]stmtRef)}
	var key []byte
	for pi, p := range ix.policies {
		if p == nil {
			continue
		}
		for si := range p.Statements {
			st := &p.Statements[si]
			ref := stmtRef{policy: int32(pi), stmt: int32(si)}
			acts, res, ok := literalPairs(st)
			if !ok || len(acts)*len(res) > maxIndexCombos {
				ix.rest = append(ix.rest, ref)
				continue
			}
			for _, a := range acts {
				for _, r := range res {
					key = append(append(append(key[:0], a...), 0), r...)
					list := ix.exact[string(key)]
					if n := len(list); n > 0 && list[n-1] == ref {
						continue // the statement repeats an action or resource
					}
					ix.exact[string(key)] = append(list, ref)
				}
			}
		}
	}
	return ix
}

// Len returns the number of policies in the index.
func (ix *IdentityIndex) Len() int { return len(ix.policies) }

// literalPairs returns a statement's literal (lower-cased) actions and
// literal resources, or ok false when either can match more than itself.
func literalPairs(st *Statement) (acts, res []string, ok bool) {
	if st.notAction || st.notResource || !st.hasResource {
		return nil, nil, false
	}
	for i := range st.actions {
		a, lit := st.actions[i].IsLiteral()
		if !lit {
			return nil, nil, false
		}
		acts = append(acts, a)
	}
	for i := range st.resources {
		r, lit := st.resources[i].Literal()
		if !lit {
			return nil, nil, false
		}
		res = append(res, r)
	}
	return acts, res, true
}

// maxIndexKey bounds the lookup key built on the stack; longer requests are
// decided by scanning.
const maxIndexKey = 1024

// evalIdentityIndexed evaluates the index's statements that can apply to the
// request (the hash hits plus the always-evaluated ones) in document order;
// policy labels continue after the set's plain Identity policies (offset).
func (e *evalState) evalIdentityIndexed(d *Diagnostics, ov *overflow, ix *IdentityIndex, offset int) (allowed, denied bool) {
	n := len(e.req.Action) + 1 + len(e.req.Resource)
	if n > maxIndexKey {
		// Too long to key on the stack: evaluate every statement.
		for i, p := range ix.policies {
			a, dn, _ := e.evalPolicy(d, ov, p, KindIdentity, offset+i, "")
			allowed, denied = allowed || a, denied || dn
		}
		return allowed, denied
	}
	var buf [maxIndexKey]byte
	k := lowerInto(buf[:], e.req.Action)
	buf[k] = 0
	k += 1 + copy(buf[k+1:], e.req.Resource)
	hits := ix.exact[string(buf[:k])]
	rest := ix.rest
	for len(hits) > 0 || len(rest) > 0 {
		var r stmtRef
		if len(rest) == 0 || (len(hits) > 0 && less(hits[0], rest[0])) {
			r, hits = hits[0], hits[1:]
		} else {
			r, rest = rest[0], rest[1:]
		}
		a, dn, _ := e.visit(d, ov, ix.policies[r.policy], KindIdentity, offset+int(r.policy), "", int(r.stmt))
		allowed, denied = allowed || a, denied || dn
	}
	return allowed, denied
}

func less(a, b stmtRef) bool {
	return a.policy < b.policy || (a.policy == b.policy && a.stmt < b.stmt)
}
