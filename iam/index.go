package iam

// setIndex indexes the statements of a PolicySet's identity policies by
// (action, resource) so that a set holding thousands of separately attached
// policies is decided without scanning them all.
type setIndex struct {
	n     int     // len(Identity) when built
	first *Policy // Identity[0] when built
	last  *Policy // Identity[n-1] when built
	exact map[string][]stmtRef
	rest  []stmtRef // statements that can match more than one (action, resource)
}

// stmtRef locates a statement in PolicySet.Identity.
type stmtRef struct {
	policy, stmt int32
}

// maxIndexCombos bounds the (action, resource) pairs one statement adds to
// the index; a statement with more goes to the always-evaluated list.
const maxIndexCombos = 16

// Index builds an index of the set's identity policies by (action, resource)
// for statements that name literal actions and literal resources, so that
// deciding stays flat however many identity policies the set holds (for
// example one set holding every silo tenant's policy). Call it once the set
// is complete and before sharing it between goroutines. Authorize ignores an
// index that no longer matches Identity (policies added, removed or
// replaced), so a stale index costs speed, never correctness. Statements the
// index rules out are not evaluated, so an implicit deny's reason may name
// fewer near-miss statements.
func (s *PolicySet) Index() {
	ix := &setIndex{n: len(s.Identity), exact: make(map[string][]stmtRef)}
	if len(s.Identity) > 0 {
		ix.first, ix.last = s.Identity[0], s.Identity[len(s.Identity)-1]
	}
	var key []byte
	for pi, p := range s.Identity {
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
	s.index = ix
}

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

// validFor reports whether the index was built for the set's current
// identity policies.
func (ix *setIndex) validFor(s *PolicySet) bool {
	if ix == nil || ix.n != len(s.Identity) {
		return false
	}
	if ix.n == 0 {
		return true
	}
	return ix.first == s.Identity[0] && ix.last == s.Identity[ix.n-1]
}

// maxIndexKey bounds the lookup key built on the stack; longer requests are
// decided by scanning.
const maxIndexKey = 1024

// evalIdentityIndexed evaluates the identity statements the index names for
// the request plus the always-evaluated ones, in document order.
func (e *evalState) evalIdentityIndexed(d *Diagnostics, ov *overflow, set *PolicySet, ix *setIndex) (allowed, denied bool) {
	var hits []stmtRef
	if n := len(e.req.Action) + 1 + len(e.req.Resource); n <= maxIndexKey {
		var buf [maxIndexKey]byte
		k := lowerInto(buf[:], e.req.Action)
		buf[k] = 0
		k += 1 + copy(buf[k+1:], e.req.Resource)
		hits = ix.exact[string(buf[:k])]
	} else {
		// Too long to key on the stack: evaluate every identity statement.
		for i, p := range set.Identity {
			a, dn, _ := e.evalPolicy(d, ov, p, KindIdentity, i, "")
			allowed, denied = allowed || a, denied || dn
		}
		return allowed, denied
	}
	rest := ix.rest
	for len(hits) > 0 || len(rest) > 0 {
		var r stmtRef
		if len(rest) == 0 || (len(hits) > 0 && less(hits[0], rest[0])) {
			r, hits = hits[0], hits[1:]
		} else {
			r, rest = rest[0], rest[1:]
		}
		p := set.Identity[r.policy]
		a, dn, _ := e.visit(d, ov, p, KindIdentity, int(r.policy), "", int(r.stmt))
		allowed, denied = allowed || a, denied || dn
	}
	return allowed, denied
}

func less(a, b stmtRef) bool {
	return a.policy < b.policy || (a.policy == b.policy && a.stmt < b.stmt)
}
