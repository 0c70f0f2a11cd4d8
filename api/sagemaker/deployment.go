package sagemaker

import (
	"encoding/json"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/serving"
)

// The wire form of UpdateEndpoint's DeploymentConfig, as SageMaker's.
type capacitySizeJSON struct {
	Type  string `json:"Type"`
	Value int    `json:"Value"`
}

type trafficRoutingJSON struct {
	Type                  string            `json:"Type"`
	WaitIntervalInSeconds int               `json:"WaitIntervalInSeconds"`
	CanarySize            *capacitySizeJSON `json:"CanarySize,omitempty"`
	LinearStepSize        *capacitySizeJSON `json:"LinearStepSize,omitempty"`
}

type blueGreenJSON struct {
	TrafficRoutingConfiguration      *trafficRoutingJSON `json:"TrafficRoutingConfiguration"`
	TerminationWaitInSeconds         int                 `json:"TerminationWaitInSeconds"`
	MaximumExecutionTimeoutInSeconds int                 `json:"MaximumExecutionTimeoutInSeconds,omitempty"`
}

type alarmRefJSON struct {
	AlarmName string `json:"AlarmName"`
}

type autoRollbackJSON struct {
	Alarms []alarmRefJSON `json:"Alarms"`
}

type deploymentConfigJSON struct {
	BlueGreenUpdatePolicy     *blueGreenJSON    `json:"BlueGreenUpdatePolicy,omitempty"`
	AutoRollbackConfiguration *autoRollbackJSON `json:"AutoRollbackConfiguration,omitempty"`
	RollingUpdatePolicy       json.RawMessage   `json:"RollingUpdatePolicy,omitempty"`
}

type updateEndpointInput struct {
	EndpointName           string                `json:"EndpointName"`
	EndpointConfigName     string                `json:"EndpointConfigName"`
	DeploymentConfig       *deploymentConfigJSON `json:"DeploymentConfig"`
	RetainDeploymentConfig bool                  `json:"RetainDeploymentConfig"`
	// RetainAllVariantProperties and ExcludeRetainedVariantProperties
	// are accepted only at their defaults.
	RetainAllVariantProperties  bool            `json:"RetainAllVariantProperties"`
	ExcludeRetainedVariantProps json.RawMessage `json:"ExcludeRetainedVariantProperties"`
}

func sizeIn(s *capacitySizeJSON) *serving.CapacitySize {
	if s == nil {
		return nil
	}
	return &serving.CapacitySize{Type: s.Type, Value: s.Value}
}

func sizeOut(s *serving.CapacitySize) *capacitySizeJSON {
	if s == nil {
		return nil
	}
	return &capacitySizeJSON{Type: s.Type, Value: s.Value}
}

// domain converts the wire form; structural errors are
// ValidationException.
func (d *deploymentConfigJSON) domain() (*serving.DeploymentConfig, error) {
	if d == nil {
		return nil, nil
	}
	if len(d.RollingUpdatePolicy) > 0 && string(d.RollingUpdatePolicy) != "null" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "RollingUpdatePolicy is not supported: use a BlueGreenUpdatePolicy")
	}
	dc := &serving.DeploymentConfig{}
	if b := d.BlueGreenUpdatePolicy; b != nil {
		if b.TrafficRoutingConfiguration == nil {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "BlueGreenUpdatePolicy.TrafficRoutingConfiguration is required")
		}
		t := b.TrafficRoutingConfiguration
		dc.BlueGreenUpdatePolicy = &serving.BlueGreenUpdatePolicy{
			TrafficRoutingConfiguration: serving.TrafficRoutingConfiguration{Type: t.Type, WaitIntervalInSeconds: t.WaitIntervalInSeconds,
				CanarySize: sizeIn(t.CanarySize), LinearStepSize: sizeIn(t.LinearStepSize)},
			TerminationWaitInSeconds: b.TerminationWaitInSeconds, MaximumExecutionTimeoutInSeconds: b.MaximumExecutionTimeoutInSeconds}
	}
	if r := d.AutoRollbackConfiguration; r != nil {
		dc.AutoRollbackConfiguration = &serving.AutoRollbackConfiguration{}
		for _, a := range r.Alarms {
			dc.AutoRollbackConfiguration.Alarms = append(dc.AutoRollbackConfiguration.Alarms, a.AlarmName)
		}
	}
	return dc, nil
}

// deploymentOut is a DeploymentConfig as DescribeEndpoint shows it.
func deploymentOut(dc serving.DeploymentConfig) deploymentConfigJSON {
	var out deploymentConfigJSON
	if p := dc.BlueGreenUpdatePolicy; p != nil {
		t := p.TrafficRoutingConfiguration
		out.BlueGreenUpdatePolicy = &blueGreenJSON{TerminationWaitInSeconds: p.TerminationWaitInSeconds, MaximumExecutionTimeoutInSeconds: p.MaximumExecutionTimeoutInSeconds,
			TrafficRoutingConfiguration: &trafficRoutingJSON{Type: t.Type, WaitIntervalInSeconds: t.WaitIntervalInSeconds, CanarySize: sizeOut(t.CanarySize), LinearStepSize: sizeOut(t.LinearStepSize)}}
	}
	if r := dc.AutoRollbackConfiguration; r != nil {
		out.AutoRollbackConfiguration = &autoRollbackJSON{Alarms: []alarmRefJSON{}}
		for _, a := range r.Alarms {
			out.AutoRollbackConfiguration.Alarms = append(out.AutoRollbackConfiguration.Alarms, alarmRefJSON{a})
		}
	}
	return out
}

// updateEndpoint answers UpdateEndpoint, blue/green when the input has a
// DeploymentConfig (or retains the last one).
func (s *Surface) updateEndpoint(r *http.Request, c *authn.Principal, in *updateEndpointInput) (any, error) {
	if in.RetainAllVariantProperties || (len(in.ExcludeRetainedVariantProps) > 0 && string(in.ExcludeRetainedVariantProps) != "null") {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "RetainAllVariantProperties and ExcludeRetainedVariantProperties are not supported")
	}
	if in.EndpointConfigName == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "1 validation error detected: EndpointConfigName must not be null")
	}
	dc, err := in.DeploymentConfig.domain()
	if err != nil {
		return nil, err
	}
	e, err := s.ctl(c).UpdateEndpointDeployment(r.Context(), c.TenantID, serving.UpdateInput{Endpoint: in.EndpointName, Config: in.EndpointConfigName,
		Deployment: dc, RetainDeploymentConfig: in.RetainDeploymentConfig})
	if err != nil {
		return nil, err
	}
	return map[string]any{"EndpointArn": e.ARN}, nil
}
