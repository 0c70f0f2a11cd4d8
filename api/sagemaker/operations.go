package sagemaker

import (
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/serving"
)

type containerJSON struct {
	Image            string            `json:"Image,omitempty"`
	Mode             string            `json:"Mode,omitempty"`
	ModelDataURL     string            `json:"ModelDataUrl,omitempty"`
	Environment      map[string]string `json:"Environment,omitempty"`
	ModelPackageName string            `json:"ModelPackageName,omitempty"`
}

type createModelInput struct {
	ModelName        string          `json:"ModelName"`
	PrimaryContainer *containerJSON  `json:"PrimaryContainer"`
	Containers       []containerJSON `json:"Containers"`
	ExecutionRoleArn string          `json:"ExecutionRoleArn"`
	Tags             []tag           `json:"Tags"`
}

type nameInput struct {
	ModelName          string `json:"ModelName"`
	EndpointConfigName string `json:"EndpointConfigName"`
	EndpointName       string `json:"EndpointName"`
}

type variantJSON struct {
	VariantName          string  `json:"VariantName"`
	ModelName            string  `json:"ModelName"`
	InitialInstanceCount int     `json:"InitialInstanceCount"`
	InstanceType         string  `json:"InstanceType"`
	InitialVariantWeight float64 `json:"InitialVariantWeight"`
}

type createEndpointConfigInput struct {
	EndpointConfigName string        `json:"EndpointConfigName"`
	ProductionVariants []variantJSON `json:"ProductionVariants"`
	KmsKeyID           string        `json:"KmsKeyId"`
	Tags               []tag         `json:"Tags"`
}

type createEndpointInput struct {
	EndpointName       string `json:"EndpointName"`
	EndpointConfigName string `json:"EndpointConfigName"`
	Tags               []tag  `json:"Tags"`
}

type tagsInput struct {
	ResourceArn string   `json:"ResourceArn"`
	Tags        []tag    `json:"Tags"`
	TagKeys     []string `json:"TagKeys"`
	MaxResults  int      `json:"MaxResults"`
	NextToken   string   `json:"NextToken"`
}

// operations maps each SageMaker operation to its resource and work.
func (s *Surface) operations() map[string]op {
	model := func(in any) string { return in.(*nameInput).ModelName }
	config := func(in any) string { return in.(*nameInput).EndpointConfigName }
	endpoint := func(in any) string { return in.(*nameInput).EndpointName }
	names := func() any { return new(nameInput) }
	lists := func() any { return new(listInput) }
	return map[string]op{
		"CreateModel": {newInput: func() any { return new(createModelInput) }, kind: serving.KindModel, create: true,
			name: func(in any) string { return in.(*createModelInput).ModelName },
			tags: func(in any) ([]tag, []string) { return in.(*createModelInput).Tags, nil },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.createModel(r, c, in.(*createModelInput))
			}},
		"DescribeModel": {newInput: names, kind: serving.KindModel, name: model,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				m, err := s.ctl(c).DescribeModel(r.Context(), c.TenantID, model(in))
				if err != nil {
					return nil, err
				}
				return map[string]any{"ModelName": m.Name, "ModelArn": m.ARN, "PrimaryContainer": containerOut(m.PrimaryContainer),
					"ExecutionRoleArn": m.ExecutionRoleARN, "CreationTime": epoch(m.CreatedAt), "EnableNetworkIsolation": false}, nil
			}},
		"DeleteModel": {newInput: names, kind: serving.KindModel, name: model,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return struct{}{}, s.ctl(c).DeleteModel(r.Context(), c.TenantID, model(in))
			}},
		"ListModels": {newInput: lists, handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
			f, err := in.(*listInput).filter()
			if err != nil {
				return nil, err
			}
			ms, next, err := s.ctl(c).ListModels(r.Context(), c.TenantID, f)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(ms))
			for _, m := range ms {
				out = append(out, map[string]any{"ModelName": m.Name, "ModelArn": m.ARN, "CreationTime": epoch(m.CreatedAt)})
			}
			return withNext(map[string]any{"Models": out}, next), nil
		}},
		"CreateEndpointConfig": {newInput: func() any { return new(createEndpointConfigInput) }, kind: serving.KindEndpointConfig, create: true,
			name: func(in any) string { return in.(*createEndpointConfigInput).EndpointConfigName },
			tags: func(in any) ([]tag, []string) { return in.(*createEndpointConfigInput).Tags, nil },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				x := in.(*createEndpointConfigInput)
				ec := &serving.EndpointConfig{Name: x.EndpointConfigName, KMSKeyID: x.KmsKeyID, Tags: tagMap(x.Tags)}
				for _, v := range x.ProductionVariants {
					ec.ProductionVariants = append(ec.ProductionVariants, serving.ProductionVariant(v))
				}
				if err := s.ctl(c).CreateEndpointConfig(r.Context(), c.TenantID, ec); err != nil {
					return nil, err
				}
				return map[string]any{"EndpointConfigArn": ec.ARN}, nil
			}},
		"DescribeEndpointConfig": {newInput: names, kind: serving.KindEndpointConfig, name: config,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				ec, err := s.ctl(c).DescribeEndpointConfig(r.Context(), c.TenantID, config(in))
				if err != nil {
					return nil, err
				}
				vs := make([]variantJSON, 0, len(ec.ProductionVariants))
				for _, v := range ec.ProductionVariants {
					vs = append(vs, variantJSON(v))
				}
				out := map[string]any{"EndpointConfigName": ec.Name, "EndpointConfigArn": ec.ARN, "ProductionVariants": vs, "CreationTime": epoch(ec.CreatedAt)}
				if ec.KMSKeyID != "" {
					out["KmsKeyId"] = ec.KMSKeyID
				}
				return out, nil
			}},
		"DeleteEndpointConfig": {newInput: names, kind: serving.KindEndpointConfig, name: config,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return struct{}{}, s.ctl(c).DeleteEndpointConfig(r.Context(), c.TenantID, config(in))
			}},
		"ListEndpointConfigs": {newInput: lists, handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
			f, err := in.(*listInput).filter()
			if err != nil {
				return nil, err
			}
			cs, next, err := s.ctl(c).ListEndpointConfigs(r.Context(), c.TenantID, f)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(cs))
			for _, ec := range cs {
				out = append(out, map[string]any{"EndpointConfigName": ec.Name, "EndpointConfigArn": ec.ARN, "CreationTime": epoch(ec.CreatedAt)})
			}
			return withNext(map[string]any{"EndpointConfigs": out}, next), nil
		}},
		"CreateEndpoint": {newInput: func() any { return new(createEndpointInput) }, kind: serving.KindEndpoint, create: true,
			name: func(in any) string { return in.(*createEndpointInput).EndpointName },
			tags: func(in any) ([]tag, []string) { return in.(*createEndpointInput).Tags, nil },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				x := in.(*createEndpointInput)
				e := &serving.Endpoint{Name: x.EndpointName, EndpointConfigName: x.EndpointConfigName, Tags: tagMap(x.Tags)}
				if err := s.ctl(c).CreateEndpoint(r.Context(), c.TenantID, e); err != nil {
					return nil, err
				}
				return map[string]any{"EndpointArn": e.ARN}, nil
			}},
		"DescribeEndpoint": {newInput: names, kind: serving.KindEndpoint, name: endpoint,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.describeEndpoint(r, c, endpoint(in))
			}},
		"UpdateEndpoint": {newInput: func() any { return new(updateEndpointInput) }, kind: serving.KindEndpoint,
			name: func(in any) string { return in.(*updateEndpointInput).EndpointName },
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return s.updateEndpoint(r, c, in.(*updateEndpointInput))
			}},
		"DeleteEndpoint": {newInput: names, kind: serving.KindEndpoint, name: endpoint,
			handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
				return struct{}{}, s.ctl(c).DeleteEndpoint(r.Context(), c.TenantID, endpoint(in))
			}},
		"ListEndpoints": {newInput: lists, handle: func(r *http.Request, c *authn.Principal, in any) (any, error) {
			f, err := in.(*listInput).filter()
			if err != nil {
				return nil, err
			}
			es, next, err := s.ctl(c).ListEndpoints(r.Context(), c.TenantID, f)
			if err != nil {
				return nil, err
			}
			out := make([]map[string]any, 0, len(es))
			for _, e := range es {
				out = append(out, map[string]any{"EndpointName": e.Name, "EndpointArn": e.ARN, "CreationTime": epoch(e.CreatedAt),
					"LastModifiedTime": epoch(e.LastModifiedAt), "EndpointStatus": string(e.Status)})
			}
			return withNext(map[string]any{"Endpoints": out}, next), nil
		}},
		"AddTags": s.tagOp(func(r *http.Request, c *authn.Principal, in *tagsInput) (any, error) {
			if out, ok, err := s.registryTagOp(c, in.ResourceArn, func(kind serving.ResourceKind, name string) (any, error) {
				return map[string]any{"Tags": in.Tags}, s.reg(c).AddTags(r.Context(), c.TenantID, kind, name, tagMap(in.Tags))
			}); ok {
				return out, err
			}
			if err := s.ctl(c).AddTags(r.Context(), c.TenantID, in.ResourceArn, tagMap(in.Tags)); err != nil {
				return nil, err
			}
			return map[string]any{"Tags": in.Tags}, nil
		}),
		"DeleteTags": s.tagOp(func(r *http.Request, c *authn.Principal, in *tagsInput) (any, error) {
			if out, ok, err := s.registryTagOp(c, in.ResourceArn, func(kind serving.ResourceKind, name string) (any, error) {
				return struct{}{}, s.reg(c).DeleteTags(r.Context(), c.TenantID, kind, name, in.TagKeys)
			}); ok {
				return out, err
			}
			return struct{}{}, s.ctl(c).DeleteTags(r.Context(), c.TenantID, in.ResourceArn, in.TagKeys)
		}),
		"ListTags": s.tagOp(func(r *http.Request, c *authn.Principal, in *tagsInput) (any, error) {
			if out, ok, err := s.registryTagOp(c, in.ResourceArn, func(kind serving.ResourceKind, name string) (any, error) {
				tags, err := s.reg(c).ListTags(r.Context(), c.TenantID, kind, name)
				return map[string]any{"Tags": tagList(tags)}, err
			}); ok {
				return out, err
			}
			tags, err := s.ctl(c).ListTags(r.Context(), c.TenantID, in.ResourceArn)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Tags": tagList(tags)}, nil
		}),
	}
}

// tagOp is a tag operation on the resource its ResourceArn names.
func (s *Surface) tagOp(h func(r *http.Request, c *authn.Principal, in *tagsInput) (any, error)) op {
	return op{
		newInput: func() any { return new(tagsInput) },
		tags:     func(in any) ([]tag, []string) { x := in.(*tagsInput); return x.Tags, x.TagKeys },
		handle:   func(r *http.Request, c *authn.Principal, in any) (any, error) { return h(r, c, in.(*tagsInput)) },
		byARN:    true,
	}
}

func withNext(out map[string]any, next string) map[string]any {
	if next != "" {
		out["NextToken"] = next
	}
	return out
}

func containerOut(c serving.Container) containerJSON {
	return containerJSON{Image: c.Image, Mode: c.Mode, ModelDataURL: c.ModelDataURL, Environment: c.Environment, ModelPackageName: c.ModelPackageName}
}

// passRoleKeys are the condition keys of iam:PassRole to SageMaker.
var passRoleKeys = iam.Context{iam.Single("iam:PassedToService", "sagemaker.amazonaws.com")}

// createModel creates a model once the caller may pass its execution role
// (iam:PassRole, decided with the role's tags and tenant as the pipeline
// decides every request, and iam:PassedToService) and the role exists, as
// SageMaker checks it. To a tenant's principal, a role of another tenant
// or of the platform is a missing one: decided without its tags and
// answered "Could not assume role" exactly as a role that does not exist.
func (s *Surface) createModel(r *http.Request, c *authn.Principal, in *createModelInput) (any, error) {
	ct := in.PrimaryContainer
	if ct == nil && len(in.Containers) == 1 {
		ct = &in.Containers[0]
	}
	if ct == nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "a model needs a PrimaryContainer (or exactly one container)")
	}
	role, found, err := s.Roles.RoleResource(r, in.ExecutionRoleArn)
	if err != nil {
		return nil, err
	}
	if c.TenantID != "" && role.Tenant != c.TenantID {
		role, found = role.Missing(), false
	}
	d, _, err := s.Pipeline.Check(r, c, "iam:PassRole", role, passRoleKeys)
	if err != nil {
		return nil, err
	}
	if !d.Allowed() {
		return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "User: %s is not authorized to perform: iam:PassRole on resource: %s", c.ARN, in.ExecutionRoleArn)
	}
	if !found {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException",
			"Could not assume role %s. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.", truncate(in.ExecutionRoleArn))
	}
	container := serving.Container{Image: ct.Image, Mode: ct.Mode, ModelDataURL: ct.ModelDataURL, Environment: ct.Environment}
	if ct.ModelPackageName != "" {
		if container, err = s.packageContainer(r, c, ct); err != nil {
			return nil, err
		}
	}
	m := &serving.Model{Name: in.ModelName, ExecutionRoleARN: in.ExecutionRoleArn, Tags: tagMap(in.Tags), PrimaryContainer: container}
	if err := s.ctl(c).CreateModel(r.Context(), c.TenantID, m); err != nil {
		return nil, err
	}
	return map[string]any{"ModelArn": m.ARN}, nil
}

// describeEndpoint answers DescribeEndpoint with the config's variants.
func (s *Surface) describeEndpoint(r *http.Request, c *authn.Principal, name string) (any, error) {
	ctl := s.ctl(c)
	e, err := ctl.DescribeEndpoint(r.Context(), c.TenantID, name)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"EndpointName": e.Name, "EndpointArn": e.ARN, "EndpointConfigName": e.EndpointConfigName,
		"EndpointStatus": string(e.Status), "CreationTime": epoch(e.CreatedAt), "LastModifiedTime": epoch(e.LastModifiedAt)}
	if e.FailureReason != "" {
		out["FailureReason"] = e.FailureReason
	}
	if ro, err := ctl.LastRollout(r.Context(), c.TenantID, e.Name); err == nil {
		out["LastDeploymentConfig"] = deploymentOut(ro.Config)
		if e.Status == serving.StatusUpdating && !ro.State.Done() {
			out["PendingDeploymentSummary"] = map[string]any{"EndpointConfigName": ro.To, "StartTime": epoch(ro.StartedAt)}
		}
	}
	if ec, err := ctl.DescribeEndpointConfig(r.Context(), "", e.EndpointConfigName); err == nil && e.Status == serving.StatusInService {
		var counts map[string][2]int
		if s.Instances != nil {
			counts = s.Instances(ctl.Account(), e.Name)
		}
		vs := make([]map[string]any, 0, len(ec.ProductionVariants))
		for _, v := range ec.ProductionVariants {
			cur, desired := v.InitialInstanceCount, v.InitialInstanceCount
			if n, ok := counts[v.VariantName]; ok {
				cur, desired = n[0], n[1]
			}
			vs = append(vs, map[string]any{"VariantName": v.VariantName, "CurrentWeight": v.InitialVariantWeight, "DesiredWeight": v.InitialVariantWeight,
				"CurrentInstanceCount": cur, "DesiredInstanceCount": desired})
		}
		out["ProductionVariants"] = vs
	}
	return out, nil
}

// truncate bounds caller-supplied text quoted in an error message.
func truncate(s string) string {
	if len(s) > 256 {
		return s[:256] + "..."
	}
	return s
}
