package cloudwatch

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
)

// Namespace is the XML namespace of CloudWatch responses.
const Namespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"

// Protocol is CloudWatch's query protocol: its namespace and error codes.
func Protocol() *api.QueryProtocol {
	return &api.QueryProtocol{Namespace: Namespace, Dialect: api.Dialect{
		tenantml.EINVALID:  {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND: {Code: "ResourceNotFound", Status: http.StatusNotFound},
	}}
}

// Surface serves the alarm actions.
type Surface struct {
	Alarms   *alarm.Service
	Pipeline *api.Pipeline
	Protocol *api.QueryProtocol
}

type handler func(r *http.Request, f url.Values, c *authn.Principal) (any, error)

// Register adds the actions to router.
func (s *Surface) Register(router *api.AWSRouter) {
	p := s.Pipeline.WithProtocol(s.Protocol)
	add := func(action string, target func(*http.Request, url.Values, *authn.Principal) (*api.Target, error), h handler) {
		router.Register(action, p.Handler(api.Op{
			Action:  "cloudwatch:" + action,
			Service: "monitoring",
			Target: func(r *http.Request, c *authn.Principal) (*api.Target, error) {
				f, err := api.ParseForm(r)
				if err != nil {
					return nil, err
				}
				return target(r, f, c)
			},
			Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
				f, err := api.ParseForm(r)
				if err != nil {
					return err
				}
				out, err := h(r, f, c)
				if err != nil {
					return err
				}
				s.Protocol.WriteResult(w, r, action, out)
				return nil
			},
		}))
	}
	add("PutMetricAlarm", s.putTarget, s.put)
	add("DescribeAlarms", func(*http.Request, url.Values, *authn.Principal) (*api.Target, error) {
		return &api.Target{Resource: authz.Resource{ARN: "*"}}, nil
	}, s.describe)
	add("DeleteAlarms", s.deleteTarget, s.delete)
}

// arn is the ARN of the alarm name of account acct: alarms are the
// caller's account's, as CloudWatch's are.
func (s *Surface) arn(acct, name string) string {
	return alarm.ARN(s.Alarms.Region, acct, name)
}

// existing is the target of an action on the existing alarm name: its
// tenant and tags, or its ARN alone when it does not exist.
func (s *Surface) existing(r *http.Request, acct, name string) (*api.Target, error) {
	if name == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "MissingParameter", "The parameter AlarmName(s) is required.")
	}
	t := &api.Target{Resource: authz.Resource{ARN: s.arn(acct, name)}, NotFound: alarm.ErrNotFound(name), Parameters: map[string]any{"alarmName": name}}
	a, err := s.Alarms.Store.GetAlarm(r.Context(), acct, name)
	switch {
	case tenantml.ErrorCode(err) == tenantml.ENOTFOUND:
		return t, nil
	case err != nil:
		return nil, err
	}
	t.Tenant, t.Tags = a.Tenant, a.Tags
	return t, nil
}

func (s *Surface) putTarget(r *http.Request, f url.Values, c *authn.Principal) (*api.Target, error) {
	name := f.Get("AlarmName")
	if name == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "MissingParameter", "The parameter AlarmName is required.")
	}
	tags := api.FormTags(f)
	t := &api.Target{Resource: authz.Resource{ARN: s.arn(c.Account, name)}, Parameters: map[string]any{"alarmName": name}}
	for k, v := range tags {
		t.Context = append(t.Context, iam.Single("aws:RequestTag/"+k, v))
	}
	if len(tags) > 0 {
		keys := make([]string, 0, len(tags))
		for k := range tags {
			keys = append(keys, k)
		}
		t.Context = append(t.Context, iam.Multi("aws:TagKeys", keys...))
	}
	return t, nil
}

func (s *Surface) deleteTarget(r *http.Request, f url.Values, c *authn.Principal) (*api.Target, error) {
	names := api.FormList(f, "AlarmNames")
	if len(names) == 0 {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "MissingParameter", "The parameter AlarmNames is required.")
	}
	return s.existing(r, c.Account, names[0])
}

// refused lists parameters of features tenantml does not have.
var refused = []string{"OKActions.member.1", "AlarmActions.member.1", "InsufficientDataActions.member.1", "Metrics.member.1.Id", "ThresholdMetricId", "EvaluateLowSampleCountPercentile"}

func (s *Surface) put(r *http.Request, f url.Values, c *authn.Principal) (any, error) {
	for _, p := range refused {
		if f.Get(p) != "" {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "%s is not supported: tenantml alarms roll back blue/green endpoint updates and have no actions, metric math or low-sample percentiles", p)
		}
	}
	a := &alarm.Alarm{Name: f.Get("AlarmName"), Description: f.Get("AlarmDescription"), ActionsEnabled: f.Get("ActionsEnabled") != "false",
		Namespace: f.Get("Namespace"), MetricName: f.Get("MetricName"), Statistic: f.Get("Statistic"), ExtendedStatistic: f.Get("ExtendedStatistic"),
		ComparisonOperator: f.Get("ComparisonOperator"), TreatMissingData: f.Get("TreatMissingData"), Unit: f.Get("Unit"), Tags: api.FormTags(f)}
	var err error
	if a.Period, err = intParam(f, "Period", true); err != nil {
		return nil, err
	}
	if a.EvaluationPeriods, err = intParam(f, "EvaluationPeriods", true); err != nil {
		return nil, err
	}
	if a.DatapointsToAlarm, err = intParam(f, "DatapointsToAlarm", false); err != nil {
		return nil, err
	}
	th := f.Get("Threshold")
	if th == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "MissingParameter", "The parameter Threshold is required.")
	}
	if a.Threshold, err = strconv.ParseFloat(th, 64); err != nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidParameterValue", "Threshold must be a number")
	}
	for i := 1; ; i++ {
		p := "Dimensions.member." + strconv.Itoa(i) + "."
		n, ok := f[p+"Name"]
		if !ok {
			break
		}
		a.Dimensions = append(a.Dimensions, alarm.Dimension{Name: n[0], Value: f.Get(p + "Value")})
	}
	if err := s.Alarms.In(c.Account).Put(r.Context(), c.TenantID, a); err != nil {
		return nil, err
	}
	return nil, nil
}

// metricAlarm is DescribeAlarms' MetricAlarm.
type metricAlarm struct {
	AlarmName                          string      `xml:"AlarmName"`
	AlarmArn                           string      `xml:"AlarmArn"`
	AlarmDescription                   string      `xml:"AlarmDescription,omitempty"`
	AlarmConfigurationUpdatedTimestamp string      `xml:"AlarmConfigurationUpdatedTimestamp"`
	ActionsEnabled                     bool        `xml:"ActionsEnabled"`
	OKActions                          struct{}    `xml:"OKActions"`
	AlarmActions                       struct{}    `xml:"AlarmActions"`
	InsufficientDataActions            struct{}    `xml:"InsufficientDataActions"`
	StateValue                         string      `xml:"StateValue"`
	StateReason                        string      `xml:"StateReason"`
	StateUpdatedTimestamp              string      `xml:"StateUpdatedTimestamp"`
	MetricName                         string      `xml:"MetricName"`
	Namespace                          string      `xml:"Namespace"`
	Statistic                          string      `xml:"Statistic,omitempty"`
	ExtendedStatistic                  string      `xml:"ExtendedStatistic,omitempty"`
	Dimensions                         []dimension `xml:"Dimensions>member"`
	Period                             int         `xml:"Period"`
	Unit                               string      `xml:"Unit,omitempty"`
	EvaluationPeriods                  int         `xml:"EvaluationPeriods"`
	DatapointsToAlarm                  int         `xml:"DatapointsToAlarm"`
	Threshold                          float64     `xml:"Threshold"`
	ComparisonOperator                 string      `xml:"ComparisonOperator"`
	TreatMissingData                   string      `xml:"TreatMissingData"`
}

type dimension struct {
	Name  string `xml:"Name"`
	Value string `xml:"Value"`
}

type describeResult struct {
	MetricAlarms []metricAlarm `xml:"MetricAlarms>member"`
	// CompositeAlarms is always empty: tenantml has none.
	CompositeAlarms struct{} `xml:"CompositeAlarms"`
	NextToken       string   `xml:"NextToken,omitempty"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Surface) describe(r *http.Request, f url.Values, c *authn.Principal) (any, error) {
	filter := alarm.Filter{Names: api.FormList(f, "AlarmNames"), Prefix: f.Get("AlarmNamePrefix"), State: alarm.StateValue(f.Get("StateValue"))}
	switch filter.State {
	case "", alarm.StateOK, alarm.StateAlarm, alarm.StateInsufficientData:
	default:
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "StateValue must be OK, ALARM or INSUFFICIENT_DATA")
	}
	if len(filter.Names) > 0 && filter.Prefix != "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidParameterCombination", "AlarmNames and AlarmNamePrefix cannot be given together")
	}
	limit := 50
	if m := f.Get("MaxRecords"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 100 {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "MaxRecords must be 1 to 100")
		}
		limit = n
	}
	after := ""
	if tok := f.Get("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(b) == 0 {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidNextToken", "The NextToken is not valid.")
		}
		after = string(b)
	}
	all, err := s.Alarms.In(c.Account).Describe(r.Context(), c.TenantID, filter)
	if err != nil {
		return nil, err
	}
	out := describeResult{MetricAlarms: []metricAlarm{}}
	for _, a := range all {
		if after != "" && a.Name <= after {
			continue
		}
		if len(out.MetricAlarms) == limit {
			out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(out.MetricAlarms[limit-1].AlarmName))
			break
		}
		m := metricAlarm{AlarmName: a.Name, AlarmArn: a.ARN, AlarmDescription: a.Description, AlarmConfigurationUpdatedTimestamp: isoTime(a.ConfigUpdatedAt),
			ActionsEnabled: a.ActionsEnabled, StateValue: string(a.State), StateReason: a.StateReason, StateUpdatedTimestamp: isoTime(a.StateUpdatedAt),
			MetricName: a.MetricName, Namespace: a.Namespace, Statistic: a.Statistic, ExtendedStatistic: a.ExtendedStatistic, Period: a.Period, Unit: a.Unit,
			EvaluationPeriods: a.EvaluationPeriods, DatapointsToAlarm: a.DatapointsToAlarm, Threshold: a.Threshold, ComparisonOperator: a.ComparisonOperator,
			TreatMissingData: a.TreatMissingData}
		for _, d := range a.Dimensions {
			m.Dimensions = append(m.Dimensions, dimension{d.Name, d.Value})
		}
		out.MetricAlarms = append(out.MetricAlarms, m)
	}
	return out, nil
}

// delete deletes the alarms named: the pipeline authorized the first;
// every further one is authorized here, as the pipeline would, and
// another tenant's answers as a missing one.
func (s *Surface) delete(r *http.Request, f url.Values, c *authn.Principal) (any, error) {
	names := api.FormList(f, "AlarmNames")
	for _, n := range names[1:] {
		t, err := s.existing(r, c.Account, n)
		if err != nil {
			return nil, err
		}
		d, hidden, err := s.Pipeline.Check(r, c, "cloudwatch:DeleteAlarms", t.Resource, nil)
		if err != nil {
			return nil, err
		}
		if !d.Allowed() {
			return nil, tenantml.Errorf(tenantml.EFORBIDDEN, "User: %s is not authorized to perform: cloudwatch:DeleteAlarms on resource: %s", c.ARN, t.ARN)
		}
		if hidden {
			return nil, alarm.ErrNotFound(n)
		}
	}
	if err := s.Alarms.In(c.Account).Delete(r.Context(), c.TenantID, names); err != nil {
		return nil, err
	}
	return nil, nil
}

func intParam(f url.Values, name string, required bool) (int, error) {
	v := f.Get(name)
	if v == "" {
		if required {
			return 0, tenantml.AWSErrorf(tenantml.EINVALID, "MissingParameter", "The parameter %s is required.", name)
		}
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidParameterValue", "%s must be an integer", name)
	}
	return n, nil
}
