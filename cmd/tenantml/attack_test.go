package main

import (
	"sync"
	"testing"

	"github.com/tenantml/tenantml/authn/oidc/oidctest"
)

// attack is one attack of the suite, run against a store's scenario.
type attack struct {
	name string
	run  func(t *testing.T, e *attackEnv)
}

// attacks run in parallel on one server: each changes only what it
// creates (its own users, roles, policies) and reads the rest.
var attacks = []attack{
	{"F01_SessionTagsCannotChangeTenant", testF01SessionTagsCannotChangeTenant},
	{"F02_AssumeRoleOfAnotherTenant", testF02AssumeRoleOfAnotherTenant},
	{"F03_ForeignOrPlatformManagedPolicy", testF03ForeignManagedPolicy},
	{"F04_NoExistenceOracles", testF04NoExistenceOracles},
	{"F05_EveryRequestAudited", testF05EveryRequestAudited},
	{"F06_AuditFidelity", testF06AuditFidelity},
	{"F07_PresignedURLOutlivesIssuer", testF07PresignedURLOutlivesIssuer},
	{"F08_SigV4CredentialScope", testF08SigV4CredentialScope},
	{"F09_KMSAuthorizationContext", testF09KMSAuthorizationContext},
	{"F10_SideChannels", testF10SideChannels},
	{"Refused_BoundaryRemoval", testRefusedBoundaryRemoval},
	{"Refused_TenantRetagging", testRefusedTenantRetagging},
	{"Refused_CrossTenantIAM", testRefusedCrossTenantIAM},
	{"Refused_PlatformEscape", testRefusedPlatformEscape},
	{"Refused_Artifacts", testRefusedArtifacts},
	{"Refused_S3", testRefusedS3},
	{"Refused_AuditScoping", testRefusedAuditScoping},
	{"Refused_SigV4Tampering", testRefusedSigV4Tampering},
	{"Refused_PathTricks", testRefusedPathTricks},
	{"Chain_TransitiveTagsTwoHops", testChainTransitiveTagsTwoHops},
	{"CrossTenantEveryOperation", testCrossTenantEveryOperation},
	{"Refused_ServingModelData", testRefusedServingModelData},
	{"Refused_RegistryApproval", testRefusedRegistryApproval},
	{"Refused_UsageMetricsAlerts", testRefusedUsageMetricsAlerts},
	{"Refused_CrossAccount", testRefusedCrossAccount},
}

// lastAttacks run after the others, one at a time: they suspend a tenant
// and move the clock.
var lastAttacks = []attack{
	{"Chain_SuspendedTenantSession", testChainSuspendedTenantSession},
	{"Chain_ExpiredCredentials", testChainExpiredCredentials},
	{"NoSecretsInLogs", testNoSecretsInLogs},
}

// TestAttack is the attack suite of issue 11: on each store, one server
// with the scenario (attack_fixture_test.go) and every attack against it,
// as an attacker with the AWS CLI, boto3 and raw SigV4 would try them.
// TENANTML_ATTACK_SEED replays the cross-tenant suite's names.
func TestAttack(t *testing.T) {
	// One OpenID Connect issuer for every store; the server trusts its
	// certificate through the system roots, set before anything in this
	// process loads them (httptest's certificate, the same for every
	// httptest TLS server).
	is := oidctest.NewIssuer(t, true)
	trustIssuer(t, is)
	for _, st := range attackStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			e := newAttackEnv(t, st)
			all := append(attacks, attack{"Chain_WebIdentityClaimCannotNameAnotherTenant", func(t *testing.T, e *attackEnv) {
				testChainWebIdentityClaim(t, e, is)
			}})
			t.Run("Attacks", func(t *testing.T) { runConcurrently(t, all, e) })
			for _, a := range lastAttacks {
				t.Run(a.name, func(t *testing.T) { a.run(t, e) })
			}
		})
	}
}

// runConcurrently runs each attack as a subtest of t, all at once: they
// wait on the server, the store's fsyncs and client processes far more
// than on the CPU, so they are not held to -parallel (t.Run may be called
// from several goroutines; it returns when its subtest is done).
func runConcurrently(t *testing.T, attacks []attack, e *attackEnv) {
	var wg sync.WaitGroup
	for _, a := range attacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(a.name, func(t *testing.T) { a.run(t, e) })
		}()
	}
	wg.Wait()
}
