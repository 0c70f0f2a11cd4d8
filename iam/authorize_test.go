package iam

import (
	"strings"
	"testing"
)

const (
	acct      = "111122223333"
	otherAcct = "444455556666"
	session   = "arn:aws:sts::111122223333:assumed-role/InvokeRole/alice"
	roleARN   = "arn:aws:iam::111122223333:role/InvokeRole"
	userARN   = "arn:aws:iam::111122223333:user/bob"
	endpoint  = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint"
	invoke    = "sagemaker:InvokeEndpoint"
)

// stmt builds a one-statement 2012-10-17 policy document.
func stmt(body string) string {
	return `{"Version":"2012-10-17","Statement":[` + body + `]}`
}

func allowAll() string { return stmt(`{"Effect":"Allow","Action":"*","Resource":"*"}`) }

func pol(t *testing.T, doc string, kind Kind) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), ParseOptions{Kind: kind})
	if err != nil {
		t.Fatalf("parse %s policy: %v\n%s", kind, err, doc)
	}
	return p
}

func TestAuthorize(t *testing.T) {
	denyInvoke := stmt(`{"Sid":"NoInvoke","Effect":"Deny","Action":"sagemaker:InvokeEndpoint","Resource":"*"}`)
	allowInvoke := stmt(`{"Sid":"Invoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}`)
	allowS3 := stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`)
	rbp := func(principal string) string {
		return stmt(`{"Sid":"Grant","Effect":"Allow","Principal":` + principal + `,"Action":"sagemaker:InvokeEndpoint","Resource":"*"}`)
	}
	type policies struct {
		identity, boundary, session []string
		resource                    string
		scps                        [][]string
	}
	tests := []struct {
		name      string
		p         policies
		principal string
		resource  string
		resAcct   string
		want      Decision
		missing   string
	}{
		{name: "DefaultDeny", want: ImplicitlyDenied, missing: "identity"},
		{name: "IdentityAllow", p: policies{identity: []string{allowInvoke}}, want: Allowed},
		{name: "OtherActionOnly", p: policies{identity: []string{allowS3}}, want: ImplicitlyDenied, missing: "identity"},
		{name: "DenyWins", p: policies{identity: []string{allowAll(), denyInvoke}}, want: ExplicitlyDenied},
		{name: "DenyInBoundaryWins", p: policies{identity: []string{allowAll()}, boundary: []string{denyInvoke}}, want: ExplicitlyDenied},
		{name: "DenyInSessionWins", p: policies{identity: []string{allowAll()}, session: []string{denyInvoke}}, want: ExplicitlyDenied},
		{name: "DenyInSCPWins", p: policies{identity: []string{allowAll()}, scps: [][]string{{allowAll(), denyInvoke}}}, want: ExplicitlyDenied},
		{name: "DenyInResourceWins", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}`)}, want: ExplicitlyDenied},
		{name: "BoundaryAllows", p: policies{identity: []string{allowInvoke}, boundary: []string{allowAll()}}, want: Allowed},
		{name: "BoundaryLacksAllow", p: policies{identity: []string{allowInvoke}, boundary: []string{allowS3}}, want: ImplicitlyDenied, missing: "boundary"},
		{name: "BoundaryAloneGrantsNothing", p: policies{boundary: []string{allowAll()}}, want: ImplicitlyDenied, missing: "identity"},
		{name: "SessionLacksAllow", p: policies{identity: []string{allowInvoke}, session: []string{allowS3}}, want: ImplicitlyDenied, missing: "session"},
		{name: "SessionAloneGrantsNothing", p: policies{session: []string{allowAll()}}, want: ImplicitlyDenied, missing: "identity"},
		{name: "SCPEveryLevelAllows", p: policies{identity: []string{allowInvoke}, scps: [][]string{{allowAll()}, {allowInvoke}}}, want: Allowed},
		{name: "SCPLevelLacksAllow", p: policies{identity: []string{allowInvoke}, scps: [][]string{{allowAll()}, {allowS3}}}, want: ImplicitlyDenied, missing: "scp"},
		{name: "SCPAloneGrantsNothing", p: policies{scps: [][]string{{allowAll()}}}, want: ImplicitlyDenied, missing: "identity"},
		// Resource-based policies within one account.
		{name: "RBPSessionARNAllowsAlone", p: policies{resource: rbp(`{"AWS":"` + session + `"}`)}, want: Allowed},
		{name: "RBPSessionARNIgnoresBoundary", p: policies{resource: rbp(`{"AWS":"` + session + `"}`), boundary: []string{allowS3}}, want: Allowed},
		{name: "RBPSessionARNIgnoresSessionPolicy", p: policies{resource: rbp(`{"AWS":"` + session + `"}`), session: []string{allowS3}}, want: Allowed},
		{name: "RBPRoleARNAllows", p: policies{resource: rbp(`{"AWS":"` + roleARN + `"}`)}, want: Allowed},
		{name: "RBPRoleARNWithPathAllows", p: policies{resource: rbp(`{"AWS":"arn:aws:iam::111122223333:role/team/InvokeRole"}`)}, want: Allowed},
		{name: "RBPRoleARNLimitedByBoundary", p: policies{resource: rbp(`{"AWS":"` + roleARN + `"}`), boundary: []string{allowS3}}, want: ImplicitlyDenied, missing: "boundary"},
		{name: "RBPRoleARNLimitedBySession", p: policies{resource: rbp(`{"AWS":"` + roleARN + `"}`), session: []string{allowS3}}, want: ImplicitlyDenied, missing: "session"},
		{name: "RBPAccountDelegatesOnly", p: policies{resource: rbp(`{"AWS":"` + acct + `"}`)}, want: ImplicitlyDenied, missing: "identity"},
		{name: "RBPAccountPlusIdentity", p: policies{resource: rbp(`{"AWS":"arn:aws:iam::` + acct + `:root"}`), identity: []string{allowInvoke}}, want: Allowed},
		{name: "RBPOtherRole", p: policies{resource: rbp(`{"AWS":"arn:aws:iam::111122223333:role/Other"}`)}, want: ImplicitlyDenied, missing: "identity"},
		{name: "RBPUserARN", principal: userARN, p: policies{resource: rbp(`{"AWS":"` + userARN + `"}`), boundary: []string{allowS3}}, want: Allowed},
		{name: "RBPStarLimitedBySCP", p: policies{resource: rbp(`"*"`), scps: [][]string{{allowS3}}}, want: ImplicitlyDenied, missing: "scp"},
		// Cross-account.
		{name: "CrossAccountNeedsBoth", resource: "arn:aws:sagemaker:us-east-1:444455556666:endpoint/e", p: policies{identity: []string{allowInvoke}, resource: rbp(`{"AWS":"` + acct + `"}`)}, want: Allowed},
		{name: "CrossAccountNoResourcePolicy", resource: "arn:aws:sagemaker:us-east-1:444455556666:endpoint/e", p: policies{identity: []string{allowInvoke}}, want: ImplicitlyDenied, missing: "resource"},
		{name: "CrossAccountNoIdentity", resource: "arn:aws:sagemaker:us-east-1:444455556666:endpoint/e", p: policies{resource: rbp(`{"AWS":"` + session + `"}`)}, want: ImplicitlyDenied, missing: "identity"},
		{name: "CrossAccountResourceAccountField", resAcct: otherAcct, p: policies{identity: []string{allowInvoke}}, want: ImplicitlyDenied, missing: "resource"},
		{name: "CrossAccountBoundaryStillApplies", resAcct: otherAcct, p: policies{identity: []string{allowInvoke}, boundary: []string{allowS3}, resource: rbp(`"*"`)}, want: ImplicitlyDenied, missing: "boundary"},
		// Role trust and KMS key policies must allow even within one account.
		{name: "TrustPolicyRequired", resource: "arn:aws:iam::111122223333:role/Admin", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/x"},"Action":"sts:AssumeRole"}`)}, want: ImplicitlyDenied, missing: "resource"},
		{name: "TrustPolicyAccountDelegates", resource: "arn:aws:iam::111122223333:role/Admin", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}`)}, want: Allowed},
		{name: "KeyPolicyRequired", resource: "arn:aws:kms:us-east-1:111122223333:key/k1", p: policies{identity: []string{allowAll()}}, want: ImplicitlyDenied, missing: "resource"},
		{name: "KeyPolicyNamesCaller", resource: "arn:aws:kms:us-east-1:111122223333:key/k1", p: policies{resource: stmt(`{"Effect":"Allow","Principal":{"AWS":"` + session + `"},"Action":"*","Resource":"*"}`)}, want: Allowed},
		// NotPrincipal.
		{name: "NotPrincipalDenyExemptsListed", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + session + `","` + roleARN + `","arn:aws:iam::` + acct + `:root"]},"Action":"*","Resource":"*"}`)}, want: Allowed},
		{name: "NotPrincipalDenySessionNeedsRole", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + session + `","arn:aws:iam::` + acct + `:root"]},"Action":"*","Resource":"*"}`)}, want: ExplicitlyDenied},
		{name: "NotPrincipalDenyRoleWithoutSession", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + roleARN + `","arn:aws:iam::` + acct + `:root"]},"Action":"*","Resource":"*"}`)}, want: ExplicitlyDenied},
		{name: "NotPrincipalDenyUserAndAccount", principal: userARN, p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["` + userARN + `","` + acct + `"]},"Action":"*","Resource":"*"}`)}, want: Allowed},
		{name: "NotPrincipalDenyNeedsAccount", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":"` + session + `"},"Action":"*","Resource":"*"}`)}, want: ExplicitlyDenied},
		{name: "NotPrincipalDenyOthers", p: policies{identity: []string{allowAll()}, resource: stmt(`{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/x","arn:aws:iam::` + acct + `:root"]},"Action":"*","Resource":"*"}`)}, want: ExplicitlyDenied},
		{name: "NotPrincipalAllowExcludesListed", principal: userARN, p: policies{resource: stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + userARN + `"},"Action":"*","Resource":"*"}`)}, want: ImplicitlyDenied, missing: "identity"},
		{name: "NotPrincipalAllowGrantsOthers", p: policies{resource: stmt(`{"Effect":"Allow","NotPrincipal":{"AWS":"` + userARN + `"},"Action":"*","Resource":"*"}`)}, want: Allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &PolicySet{}
			for _, d := range tt.p.identity {
				set.Identity = append(set.Identity, pol(t, d, KindIdentity))
			}
			for _, d := range tt.p.boundary {
				set.Boundaries = append(set.Boundaries, pol(t, d, KindBoundary))
			}
			for _, d := range tt.p.session {
				set.Session = append(set.Session, pol(t, d, KindSession))
			}
			if tt.p.resource != "" {
				set.Resource = pol(t, tt.p.resource, KindResource)
			}
			for i, lvl := range tt.p.scps {
				g := GuardrailLevel{Name: "level" + string(rune('0'+i))}
				for _, d := range lvl {
					g.Policies = append(g.Policies, pol(t, d, KindGuardrail))
				}
				set.Guardrails = append(set.Guardrails, g)
			}
			req := Request{Principal: session, Action: invoke, Resource: endpoint, ResourceAccount: tt.resAcct}
			if strings.Contains(tt.resource, ":role/") {
				req.Action = "sts:AssumeRole"
			}
			if tt.principal != "" {
				req.Principal = tt.principal
			}
			if tt.resource != "" {
				req.Resource = tt.resource
			}
			got, diag := Authorize(set, &req)
			if got != tt.want {
				t.Fatalf("decision = %v, want %v\nreason: %s", got, tt.want, diag.Reason())
			}
			if m := diag.MissingAllow(); m != tt.missing {
				t.Fatalf("MissingAllow() = %q, want %q\nreason: %s", m, tt.missing, diag.Reason())
			}
			if diag.Reason() == "" {
				t.Fatal("empty Reason")
			}
		})
	}
}

func TestAuthorize_NilAndEmpty(t *testing.T) {
	tests := []struct {
		name string
		set  *PolicySet
		req  Request
	}{
		{"NilSet", nil, Request{Principal: session, Action: invoke, Resource: endpoint}},
		{"EmptyAction", &PolicySet{Identity: []*Policy{MustParse(allowAll(), KindIdentity)}}, Request{Principal: session, Resource: endpoint}},
		{"NilPolicyInSet", &PolicySet{Identity: []*Policy{nil}}, Request{Principal: session, Action: invoke, Resource: endpoint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := Authorize(tt.set, &tt.req); got != ImplicitlyDenied {
				t.Fatalf("decision = %v, want ImplicitlyDenied (fail closed)", got)
			}
		})
	}
}

func TestDiagnostics_Reason(t *testing.T) {
	allow := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowInvoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"DenyPool","Effect":"Deny","Action":"sagemaker:*","Resource":"*"}]}`
	tests := []struct {
		name  string
		set   *PolicySet
		want  []string
		stmts []StatementRef
	}{
		{"Allowed", &PolicySet{Identity: []*Policy{MustParse(allow, KindIdentity)}},
			[]string{"allowed:", `statement 0 (Sid "AllowInvoke") of identity[0]`, invoke, endpoint},
			[]StatementRef{{Kind: KindIdentity, Index: 0, Sid: "AllowInvoke", Effect: Allow}}},
		{"ExplicitlyDenied", &PolicySet{Identity: []*Policy{MustParse(deny, KindIdentity)}},
			[]string{"explicitly denied:", `statement 1 (Sid "DenyPool") of identity[0]`, "overrides"},
			[]StatementRef{{Kind: KindIdentity, Index: 1, Sid: "DenyPool", Effect: Deny}}},
		{"Boundary", &PolicySet{Identity: []*Policy{MustParse(allow, KindIdentity)}, Boundaries: []*Policy{MustParse(stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`), KindBoundary)}},
			[]string{"implicitly denied:", "permissions boundary does not allow", `Sid "AllowInvoke"`},
			[]StatementRef{{Kind: KindIdentity, Index: 0, Sid: "AllowInvoke", Effect: Allow}}},
		{"Nothing", &PolicySet{},
			[]string{"implicitly denied:", "no identity-based or resource-based policy allows"}, nil},
		{"ClosestResource", &PolicySet{Identity: []*Policy{MustParse(siloPolicy("globex"), KindIdentity)}},
			[]string{"implicitly denied:", `closest: statement 0 (Sid "InvokeOwnEndpoint") of identity[0] names this action but not this resource`}, nil},
		{"ClosestVariable", &PolicySet{Identity: []*Policy{MustParse(bridgePolicy, KindIdentity)}},
			[]string{"implicitly denied:", `closest: statement 0 of identity[0] names this action but its policy variable ${aws:PrincipalTag/TenantID} has no value in this request`}, nil},
		{"ResourcePolicyNeverDescribed", &PolicySet{Resource: MustParse(stmt(`{"Sid":"TenantB","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/TenantB"},"Action":"sagemaker:*","Resource":"*"}`), KindResource)},
			[]string{"implicitly denied:"}, nil},
		{"ClosestCondition", &PolicySet{Identity: []*Policy{MustParse(stmt(`{"Sid":"OnlyTLS","Effect":"Allow","Action":"sagemaker:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`), KindIdentity)}},
			[]string{`closest: statement 0 (Sid "OnlyTLS") of identity[0] names this action but its condition Bool on "aws:SecureTransport" is not met`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: session, Action: invoke, Resource: endpoint}
			_, d := Authorize(tt.set, &req)
			reason := d.Reason()
			if tt.name == "ResourcePolicyNeverDescribed" && strings.Contains(reason, "TenantB") {
				t.Fatalf("Reason() = %q describes the resource owner's policy", reason)
			}
			for _, w := range tt.want {
				if !strings.Contains(reason, w) {
					t.Errorf("Reason() = %q, want it to contain %q", reason, w)
				}
			}
			got := d.Statements()
			if len(got) != len(tt.stmts) {
				t.Fatalf("Statements() = %+v, want %+v", got, tt.stmts)
			}
			for i := range got {
				if got[i] != tt.stmts[i] {
					t.Fatalf("Statements()[%d] = %+v, want %+v", i, got[i], tt.stmts[i])
				}
			}
		})
	}
}

func TestStatementRef_PolicyLabel(t *testing.T) {
	tests := []struct {
		ref  StatementRef
		want string
	}{
		{StatementRef{Kind: KindIdentity, Policy: 2}, "identity[2]"},
		{StatementRef{Kind: KindResource}, "resource"},
		{StatementRef{Kind: KindBoundary}, "boundary[0]"},
		{StatementRef{Kind: KindSession}, "session[0]"},
		{StatementRef{Kind: KindGuardrail, Level: "root", Policy: 1}, "scp[root][1]"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.ref.PolicyLabel(); got != tt.want {
				t.Fatalf("PolicyLabel() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDiagnostics_Overflow(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	for i := 0; i < 7; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"Effect":"Deny","Action":"sagemaker:*","Resource":"*"}`)
	}
	b.WriteString(`]}`)
	set := &PolicySet{Identity: []*Policy{MustParse(b.String(), KindIdentity)}}
	req := Request{Principal: session, Action: invoke, Resource: endpoint}
	dec, d := Authorize(set, &req)
	if dec != ExplicitlyDenied {
		t.Fatalf("decision = %v, want ExplicitlyDenied", dec)
	}
	refs := d.Statements()
	if len(refs) != 7 {
		t.Fatalf("got %d deciding statements, want 7", len(refs))
	}
	for i, r := range refs {
		if int(r.Index) != i {
			t.Fatalf("statement %d has index %d", i, r.Index)
		}
	}
}

// TestAuthorize_ZeroAlloc pins the hot-path promise: deciding the pool,
// bridge and silo policies allocates nothing, whether allowed or denied.
func TestAuthorize_ZeroAlloc(t *testing.T) {
	tests := []struct {
		name, doc, resource, model string
		want                       Decision
	}{
		{"Pool", poolPolicy, endpoint, "acme.tar.gz", Allowed},
		{"PoolOtherTenant", poolPolicy, endpoint, "globex.tar.gz", ImplicitlyDenied},
		{"Bridge", bridgePolicy, "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "", Allowed},
		{"BridgeOtherTenant", bridgePolicy, "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "", ImplicitlyDenied},
		{"Silo", siloPolicy("acme"), "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "", Allowed},
		{"SiloOtherTenant", siloPolicy("acme"), "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "", ImplicitlyDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := &PolicySet{Identity: []*Policy{MustParse(tt.doc, KindIdentity)}}
			var dec Decision
			allocs := testing.AllocsPerRun(100, func() {
				ctx := [2]KeyValue{Single("aws:PrincipalTag/TenantID", "acme"), Single("sagemaker:TargetModel", tt.model)}
				req := Request{Principal: session, Action: invoke, Resource: tt.resource, Context: ctx[:]}
				dec, _ = Authorize(set, &req)
			})
			if dec != tt.want {
				t.Fatalf("decision = %v, want %v", dec, tt.want)
			}
			if allocs != 0 {
				t.Fatalf("Authorize allocated %v times per run, want 0", allocs)
			}
		})
	}
}

// TestAuthorize_Concurrent decides from many goroutines against one shared
// PolicySet; run with -race it proves compiled policies are read-only.
func TestAuthorize_Concurrent(t *testing.T) {
	set := &PolicySet{Identity: []*Policy{MustParse(poolPolicy, KindIdentity), MustParse(bridgePolicy, KindIdentity)}}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			tenant := "t" + string(rune('a'+g))
			for i := 0; i < 200; i++ {
				req := Request{Principal: session, Action: invoke, Resource: endpoint,
					Context: Context{Single("aws:PrincipalTag/TenantID", tenant), Single("sagemaker:TargetModel", tenant+".tar.gz")}}
				if dec, _ := Authorize(set, &req); dec != Allowed {
					errs <- "own model denied for " + tenant
					return
				}
				req.Context[1] = Single("sagemaker:TargetModel", "other.tar.gz")
				if dec, _ := Authorize(set, &req); dec != ImplicitlyDenied {
					errs <- "other model not denied for " + tenant
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if msg := <-errs; msg != "" {
			t.Fatal(msg)
		}
	}
}
