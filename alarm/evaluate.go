package alarm

import (
	"fmt"
	"strconv"
	"strings"
)

func parsePercentile(s string) (float64, error) {
	return strconv.ParseFloat(strings.TrimPrefix(s, "p"), 64)
}

// breaches reports whether v crosses the alarm's threshold.
func (a *Alarm) breaches(v float64) bool {
	switch a.ComparisonOperator {
	case GreaterThan:
		return v > a.Threshold
	case GreaterThanOrEqual:
		return v >= a.Threshold
	case LessThan:
		return v < a.Threshold
	}
	return v <= a.Threshold
}

// Evaluate returns the alarm's state after the datapoints of its last
// EvaluationPeriods periods (oldest first; fewer when fewer periods have
// passed since the evaluation began: those are not counted, not even as
// missing), given its current state, and the
// reason, in CloudWatch's words. It is pure: the same input always gives
// the same state.
func (a *Alarm) Evaluate(current StateValue, points []Datapoint) (StateValue, string) {
	n := a.EvaluationPeriods
	if len(points) > n {
		points = points[len(points)-n:]
	}
	need := a.DatapointsToAlarm
	if need == 0 {
		need = n
	}
	var breaching, present int
	var shown []string
	for _, p := range points {
		if !p.Present {
			continue
		}
		present++
		shown = append(shown, fmtValue(p.Value))
		if a.breaches(p.Value) {
			breaching++
		}
	}
	// Periods before the evaluation began (fewer points than
	// EvaluationPeriods) are no datapoints at all; missing ones are the
	// elapsed periods without data.
	missing := len(points) - present
	switch a.TreatMissingData {
	case MissingBreaching:
		breaching += missing
		present = len(points)
	case MissingNotBreaching:
		present = len(points)
	}
	stat := a.Statistic
	if stat == "" {
		stat = a.ExtendedStatistic
	}
	switch {
	case breaching >= need:
		return StateAlarm, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] of %s %s were %s the threshold (%s) (minimum %d datapoints for OK -> ALARM transition).",
			breaching, n, strings.Join(shown, ", "), a.MetricName, stat, describeOp(a.ComparisonOperator), fmtValue(a.Threshold), need)
	case present == 0 && a.TreatMissingData == MissingIgnore && current != "":
		return current, "no datapoints: the state is kept (TreatMissingData ignore)"
	case present == 0:
		return StateInsufficientData, fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n)
	}
	return StateOK, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] of %s %s were not %s the threshold (%s) (minimum %d datapoints for ALARM -> OK transition).",
		n-breaching, n, strings.Join(shown, ", "), a.MetricName, stat, describeOp(a.ComparisonOperator), fmtValue(a.Threshold), 1)
}
