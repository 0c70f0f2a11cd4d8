package alarm

import (
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
)

// Namespace is the one metric namespace alarms may watch.
const Namespace = "AWS/SageMaker"

// The metrics an alarm may watch.
const (
	MetricInvocations = "Invocations"
	Metric4XX         = "Invocation4XXErrors"
	Metric5XX         = "Invocation5XXErrors"
	MetricLatency     = "ModelLatency"
)

// The dimensions of the metrics.
const (
	DimEndpoint = "EndpointName"
	DimVariant  = "VariantName"
)

// Comparison operators.
const (
	GreaterThan        = "GreaterThanThreshold"
	GreaterThanOrEqual = "GreaterThanOrEqualToThreshold"
	LessThan           = "LessThanThreshold"
	LessThanOrEqual    = "LessThanOrEqualToThreshold"
)

// TreatMissingData values.
const (
	MissingMissing      = "missing"
	MissingNotBreaching = "notBreaching"
	MissingBreaching    = "breaching"
	MissingIgnore       = "ignore"
)

// StateValue is an alarm's state.
type StateValue string

// Alarm states.
const (
	StateOK               StateValue = "OK"
	StateAlarm            StateValue = "ALARM"
	StateInsufficientData StateValue = "INSUFFICIENT_DATA"
	initialReason                    = "Unchecked: Initial alarm creation"
	maxEvaluationPeriods             = 100
	maxAlarmNameLen                  = 255
	maxDescriptionLen                = 1024
	maxPeriodSeconds                 = 86400
)

// Dimension is a metric dimension.
type Dimension struct {
	Name, Value string
}

// Alarm is a metric alarm, CloudWatch's MetricAlarm.
type Alarm struct {
	AccountID string
	// Tenant owns the alarm; "" for a platform alarm.
	Tenant             string
	Name               string
	ARN                string
	Description        string
	ActionsEnabled     bool
	Namespace          string
	MetricName         string
	Dimensions         []Dimension
	Statistic          string
	ExtendedStatistic  string
	Period             int
	EvaluationPeriods  int
	DatapointsToAlarm  int
	Threshold          float64
	ComparisonOperator string
	TreatMissingData   string
	Unit               string
	Tags               map[string]string

	State       StateValue
	StateReason string
	// StateUpdatedAt is when State last changed; ConfigUpdatedAt when
	// the alarm was last put.
	StateUpdatedAt, ConfigUpdatedAt time.Time
}

// ARN returns an alarm's ARN, arn:aws:cloudwatch:region:account:alarm:name.
func ARN(region, acct, name string) string {
	return "arn:aws:cloudwatch:" + region + ":" + acct + ":alarm:" + name
}

// Endpoint returns the EndpointName dimension's value.
func (a *Alarm) Endpoint() string { return a.dim(DimEndpoint) }

// Variant returns the VariantName dimension's value, "" for none.
func (a *Alarm) Variant() string { return a.dim(DimVariant) }

func (a *Alarm) dim(name string) string {
	for _, d := range a.Dimensions {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

func validation(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", format, args...)
}

var (
	percentileRE = regexp.MustCompile(`^p(\d{1,2}(\.\d{1,2})?|100)$`)
	statistics   = map[string]bool{"SampleCount": true, "Sum": true, "Average": true, "Minimum": true, "Maximum": true}
	metrics      = map[string]bool{MetricInvocations: true, Metric4XX: true, Metric5XX: true, MetricLatency: true}
	operators    = map[string]bool{GreaterThan: true, GreaterThanOrEqual: true, LessThan: true, LessThanOrEqual: true}
	missingModes = map[string]bool{MissingMissing: true, MissingNotBreaching: true, MissingBreaching: true, MissingIgnore: true}
)

// Validate checks the alarm's definition as CloudWatch does, for the
// metrics tenantml has, and fills defaults (TreatMissingData missing,
// DatapointsToAlarm EvaluationPeriods).
func (a *Alarm) Validate() error {
	switch {
	case a.Name == "" || len(a.Name) > maxAlarmNameLen || strings.ContainsAny(a.Name, "\x00\n\r"):
		return validation("AlarmName must be 1 to %d characters", maxAlarmNameLen)
	case len(a.Description) > maxDescriptionLen:
		return validation("AlarmDescription must be at most %d characters", maxDescriptionLen)
	case a.Namespace != Namespace:
		return validation("Namespace must be %s: tenantml alarms watch its endpoints' metrics", Namespace)
	case !metrics[a.MetricName]:
		return validation("MetricName must be one of %s, %s, %s, %s", MetricInvocations, Metric4XX, Metric5XX, MetricLatency)
	case (a.Statistic == "") == (a.ExtendedStatistic == ""):
		return validation("exactly one of Statistic and ExtendedStatistic must be given")
	case a.Statistic != "" && !statistics[a.Statistic]:
		return validation("Statistic must be one of SampleCount, Average, Sum, Minimum, Maximum")
	case a.ExtendedStatistic != "" && !percentileRE.MatchString(a.ExtendedStatistic):
		return validation("ExtendedStatistic must be a percentile p0.0 to p100")
	case a.ExtendedStatistic != "" && a.MetricName != MetricLatency:
		return validation("percentiles are available for %s only", MetricLatency)
	case a.Period < 10 || a.Period > maxPeriodSeconds || (a.Period != 10 && a.Period != 30 && a.Period%60 != 0):
		return validation("Period must be 10, 30 or a multiple of 60 seconds, at most %d", maxPeriodSeconds)
	case a.EvaluationPeriods < 1 || a.EvaluationPeriods > maxEvaluationPeriods:
		return validation("EvaluationPeriods must be 1 to %d", maxEvaluationPeriods)
	case a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods:
		return validation("DatapointsToAlarm must be 1 to EvaluationPeriods")
	case !operators[a.ComparisonOperator]:
		return validation("ComparisonOperator must be one of %s, %s, %s, %s", GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual)
	case math.IsNaN(a.Threshold) || math.IsInf(a.Threshold, 0):
		return validation("Threshold must be a number")
	case a.TreatMissingData != "" && !missingModes[a.TreatMissingData]:
		return validation("TreatMissingData must be one of missing, notBreaching, breaching, ignore")
	}
	if a.ExtendedStatistic != "" {
		if p, _ := strconv.ParseFloat(a.ExtendedStatistic[1:], 64); p > 100 {
			return validation("ExtendedStatistic must be a percentile p0.0 to p100")
		}
	}
	seen := map[string]bool{}
	for _, d := range a.Dimensions {
		if d.Name != DimEndpoint && d.Name != DimVariant {
			return validation("dimension %q: the dimensions are %s and %s", truncate(d.Name), DimEndpoint, DimVariant)
		}
		if seen[d.Name] {
			return validation("dimension %s is given twice", d.Name)
		}
		seen[d.Name] = true
		if d.Value == "" || len(d.Value) > 63 {
			return validation("dimension %s must have a value of 1 to 63 characters", d.Name)
		}
	}
	if !seen[DimEndpoint] {
		return validation("an alarm must name the endpoint it watches: the %s dimension", DimEndpoint)
	}
	if a.TreatMissingData == "" {
		a.TreatMissingData = MissingMissing
	}
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Filter selects alarms.
type Filter struct {
	// Tenant, when set, keeps exactly that tenant's alarms; "" keeps every
	// alarm of the account.
	Tenant string
	// Names, when set, keeps alarms of these names.
	Names []string
	// Prefix keeps names beginning with it.
	Prefix string
	// State keeps alarms in that state.
	State StateValue
}

// Store persists alarms, per account, names unique in an account. Put
// creates or replaces an alarm's definition (keeping its state when it
// exists); a missing alarm is ENOTFOUND.
type Store interface {
	PutAlarm(ctx context.Context, a *Alarm) error
	GetAlarm(ctx context.Context, acct, name string) (*Alarm, error)
	ListAlarms(ctx context.Context, acct string, f Filter) ([]*Alarm, error)
	DeleteAlarm(ctx context.Context, acct, name string) error
	// SetState records an evaluation that changed the alarm's state.
	SetState(ctx context.Context, acct, name string, state StateValue, reason string, at time.Time) error
}

// ErrNotFound is the answer for an alarm that does not exist or that the
// caller's tenant may not see.
func ErrNotFound(name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ResourceNotFound", "Alarm %s does not exist.", truncate(name))
}

// Describe names the comparison for a state reason.
func describeOp(op string) string {
	switch op {
	case GreaterThan:
		return "greater than"
	case GreaterThanOrEqual:
		return "greater than or equal to"
	case LessThan:
		return "less than"
	}
	return "less than or equal to"
}

func fmtValue(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
