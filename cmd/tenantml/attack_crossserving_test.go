package main

import (
	"math/rand/v2"

	"github.com/tenantml/tenantml/serving"
)

// The cross-tenant templates of the serving operations: the SageMaker
// control plane, InvokeEndpoint and the onboarding routes. globex's side
// is its model, endpoint config and endpoint (InService) and its
// execution role; the platform's side is the platform's model, config,
// endpoint and execution role, which no tenant may see; the missing side
// names resources of the same shape that do not exist
// (attack_servingfixture_test.go builds them).

// Reasons why a serving attempt leaves no operator event.
const (
	opServingRelated = "the control plane resolves a resource named inside the request (a variant's model, an endpoint's config) as the caller's tenant sees it: another tenant's answers as a missing one on the same path, and nothing attributes the attempt"
	opPassRole       = "the execution role is decided inside CreateModel (iam:PassRole through Pipeline.Check), where another tenant's role answers as a missing one; nothing attributes the attempt"
)

// smOp is a template of SageMaker operation op.
func smOp(op, variant string, in func(x *crossTarget) map[string]any) crossCase {
	return crossCase{op: "SageMaker." + op, variant: variant, build: func(x *crossTarget) signedRequest { return sagemakerRequest(op, in(x)) }}
}

// acmeTags is a SageMaker tag list naming the caller's tenant.
var acmeTags = []map[string]string{{"Key": "TenantID", "Value": "acme"}}

// variants is one production variant over model.
func variants(model string) []map[string]any {
	return []map[string]any{{"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}
}

// container is a single-model container over one of acme's artifacts.
var container = map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://" + artifactBucket + "/acme/attack/v1/model.tar.gz"}

// exampleRows are the rows every invocation template sends.
var exampleRows = []byte("2,89.5,4,21\n")

// servingCases are the serving operations' templates.
func servingCases() []crossCase {
	platform := func(c crossCase) crossCase { c.platform = true; return c }
	quiet := func(c crossCase, operator string) crossCase { c.operator = operator; return c }
	list := func(c crossCase) crossCase { c.kind = crossList; return c }
	name := func(field string, get func(x *crossTarget) string) func(x *crossTarget) map[string]any {
		return func(x *crossTarget) map[string]any { return map[string]any{field: get(x)} }
	}
	model := func(x *crossTarget) string { return x.model }
	config := func(x *crossTarget) string { return x.config }
	endpoint := func(x *crossTarget) string { return x.endpoint }
	platModel := func(x *crossTarget) string { return x.platModel }
	platConfig := func(x *crossTarget) string { return x.platConfig }
	platEndpoint := func(x *crossTarget) string { return x.platEndpoint }
	createModel := func(variant, model string, role func(x *crossTarget) string) crossCase {
		return smOp("CreateModel", variant, func(x *crossTarget) map[string]any {
			n := model
			if n == "" {
				n = x.model
			}
			return map[string]any{"ModelName": n, "ExecutionRoleArn": role(x), "PrimaryContainer": container, "Tags": acmeTags}
		})
	}
	createConfig := func(variant string, in func(x *crossTarget) (string, string)) crossCase {
		return smOp("CreateEndpointConfig", variant, func(x *crossTarget) map[string]any {
			n, m := in(x)
			return map[string]any{"EndpointConfigName": n, "ProductionVariants": variants(m), "Tags": acmeTags}
		})
	}
	createEndpoint := func(variant string, in func(x *crossTarget) (string, string)) crossCase {
		return smOp("CreateEndpoint", variant, func(x *crossTarget) map[string]any {
			n, c := in(x)
			return map[string]any{"EndpointName": n, "EndpointConfigName": c, "Tags": acmeTags}
		})
	}
	tagsOp := func(op, variant string, arn func(x *crossTarget) string, more map[string]any) crossCase {
		return smOp(op, variant, func(x *crossTarget) map[string]any {
			in := map[string]any{"ResourceArn": arn(x)}
			for k, v := range more {
				in[k] = v
			}
			return in
		})
	}
	team := map[string]any{"Tags": []map[string]string{{"Key": "team", "Value": "x"}}}
	teamKey := map[string]any{"TagKeys": []string{"team"}}
	update := func(variant string, in func(x *crossTarget) (string, string)) crossCase {
		return smOp("UpdateEndpoint", variant, func(x *crossTarget) map[string]any {
			e, c := in(x)
			return map[string]any{"EndpointName": e, "EndpointConfigName": c}
		})
	}
	invoke := func(variant string, req func(x *crossTarget) signedRequest) crossCase {
		return crossCase{op: "POST /endpoints/{name}/invocations", variant: variant, build: req}
	}
	const one = "/api/v1/tenants/"
	return []crossCase{
		// Models: globex's, the platform's, a name in globex's name space,
		// globex's or the platform's execution role.
		smOp("DescribeModel", "", name("ModelName", model)),
		smOp("DeleteModel", "", name("ModelName", model)),
		platform(smOp("DescribeModel", "platform", name("ModelName", platModel))),
		platform(smOp("DeleteModel", "platform", name("ModelName", platModel))),
		quiet(createModel("", "", func(x *crossTarget) string { return x.ownExecRole }), opNamespace),
		quiet(createModel("role", "acme--attack", func(x *crossTarget) string { return x.execRole }), opPassRole),
		platform(createModel("platform-role", "acme--attack", func(x *crossTarget) string { return x.platRole })),
		list(smOp("ListModels", "", func(*crossTarget) map[string]any { return map[string]any{} })),
		list(smOp("ListModels", "name-contains", func(*crossTarget) map[string]any { return map[string]any{"NameContains": "globex"} })),

		// Endpoint configs, and the model a config's variant names.
		smOp("DescribeEndpointConfig", "", name("EndpointConfigName", config)),
		smOp("DeleteEndpointConfig", "", name("EndpointConfigName", config)),
		platform(smOp("DescribeEndpointConfig", "platform", name("EndpointConfigName", platConfig))),
		platform(smOp("DeleteEndpointConfig", "platform", name("EndpointConfigName", platConfig))),
		quiet(createConfig("", func(x *crossTarget) (string, string) { return x.config, x.ownModel }), opNamespace),
		quiet(createConfig("model", func(x *crossTarget) (string, string) { return "acme--attack", x.model }), opServingRelated),
		platform(createConfig("platform-model", func(x *crossTarget) (string, string) { return "acme--attack", x.platModel })),
		list(smOp("ListEndpointConfigs", "", func(*crossTarget) map[string]any { return map[string]any{} })),

		// Endpoints, and the config an endpoint is created or updated
		// with.
		smOp("DescribeEndpoint", "", name("EndpointName", endpoint)),
		smOp("DeleteEndpoint", "", name("EndpointName", endpoint)),
		update("", func(x *crossTarget) (string, string) { return x.endpoint, x.config }),
		platform(smOp("DescribeEndpoint", "platform", name("EndpointName", platEndpoint))),
		platform(smOp("DeleteEndpoint", "platform", name("EndpointName", platEndpoint))),
		platform(update("platform", func(x *crossTarget) (string, string) { return x.platEndpoint, x.platConfig })),
		quiet(update("config", func(x *crossTarget) (string, string) { return x.ownEndpoint, x.config }), opServingRelated),
		platform(update("platform-config", func(x *crossTarget) (string, string) { return x.ownEndpoint, x.platConfig })),
		quiet(createEndpoint("", func(x *crossTarget) (string, string) { return x.endpoint, x.ownConfig }), opNamespace),
		quiet(createEndpoint("config", func(x *crossTarget) (string, string) { return "acme--attack", x.config }), opServingRelated),
		platform(createEndpoint("platform-config", func(x *crossTarget) (string, string) { return "acme--attack", x.platConfig })),
		list(smOp("ListEndpoints", "", func(*crossTarget) map[string]any { return map[string]any{} })),
		list(smOp("ListEndpoints", "name-contains", func(*crossTarget) map[string]any { return map[string]any{"NameContains": "globex"} })),

		// Tags, by ARN.
		tagsOp("AddTags", "", func(x *crossTarget) string { return x.endpointARN }, team),
		tagsOp("AddTags", "model", func(x *crossTarget) string { return x.modelARN }, team),
		tagsOp("DeleteTags", "", func(x *crossTarget) string { return x.configARN }, teamKey),
		tagsOp("ListTags", "", func(x *crossTarget) string { return x.modelARN }, nil),
		tagsOp("ListTags", "endpoint", func(x *crossTarget) string { return x.endpointARN }, nil),
		platform(tagsOp("AddTags", "platform", func(x *crossTarget) string { return x.platEndpointARN }, team)),
		platform(tagsOp("DeleteTags", "platform", func(x *crossTarget) string { return x.platModelARN }, teamKey)),
		platform(tagsOp("ListTags", "platform", func(x *crossTarget) string { return x.platConfigARN }, nil)),

		// InvokeEndpoint: globex's endpoint, and globex's model in the
		// platform's pool (the target is the platform's endpoint; the
		// TargetModel is globex's object).
		invoke("", func(x *crossTarget) signedRequest { return invokeRequest(x.endpoint, "", exampleRows) }),
		quiet(invoke("target-model", func(x *crossTarget) signedRequest { return invokeRequest(x.pool, x.poolModel, exampleRows) }), opRelated),

		// Onboarding: deploying into and moving another tenant.
		route("POST /api/v1/tenants/{id}/models", "", func(x *crossTarget) string { return one + x.tenant + "/models" }, "model bytes of TENANT"),
		route("POST /api/v1/tenants/{id}/isolation", "", func(x *crossTarget) string { return one + x.tenant + "/isolation" }, `{"isolation":"silo"}`),
	}
}

// servingTargets fills the serving names of globex's side from e's
// scenario, and of the missing side from word.
func (e *attackEnv) servingTargets(other, missing *crossTarget, word func(n int) string) {
	s, region := e.sv, e.ts.cfg.Region
	arns := func(x *crossTarget) {
		x.modelARN = serving.ARN(region, e.acct, serving.KindModel, x.model)
		x.configARN = serving.ARN(region, e.acct, serving.KindEndpointConfig, x.config)
		x.endpointARN = serving.ARN(region, e.acct, serving.KindEndpoint, x.endpoint)
		x.platModelARN = serving.ARN(region, e.acct, serving.KindModel, x.platModel)
		x.platConfigARN = serving.ARN(region, e.acct, serving.KindEndpointConfig, x.platConfig)
		x.platEndpointARN = serving.ARN(region, e.acct, serving.KindEndpoint, x.platEndpoint)
	}
	for _, x := range []*crossTarget{other, missing} {
		x.ownModel, x.ownConfig, x.ownEndpoint, x.ownExecRole, x.pool = s.ownModel, s.ownConfig, s.ownEndpoint, s.ownRole, s.pool
	}
	other.model, other.config, other.endpoint, other.execRole = s.model, s.config, s.endpoint, s.execRole
	other.poolModel = s.globexModel
	other.platModel, other.platConfig, other.platEndpoint, other.platRole = s.platModel, s.platConfig, s.platEndpoint, s.platRole
	arns(other)

	missing.model, missing.config, missing.endpoint = "globex--"+word(5), "globex--"+word(12), "globex--"+word(14)
	missing.execRole = "arn:aws:iam::" + e.acct + ":role" + e.tenants["globex"].path + "globex.e" + word(4)
	missing.poolModel = missing.tenant + "/serving/v1/model.tar.gz"
	missing.platModel, missing.platConfig, missing.platEndpoint = "platform-"+word(6), "platform-"+word(13), "platform-"+word(15)
	missing.platRole = "arn:aws:iam::" + e.acct + ":role/platform/m" + word(5)
	arns(missing)
}

// servingNames are x's serving names, in a fixed order (crossTarget.names).
func (x *crossTarget) servingNames() []string {
	return []string{x.alarmARN, x.modelARN, x.configARN, x.endpointARN, x.platModelARN, x.platConfigARN, x.platEndpointARN, x.execRole, x.platRole,
		x.poolModel, x.alarm, x.model, x.config, x.endpoint, x.platModel, x.platConfig, x.platEndpoint}
}

// newWord returns a generator of random lower-case words from rng.
func newWord(rng *rand.Rand) func(n int) string {
	return func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
}
