package xgboost

import (
	"fmt"
	"math"
)

// transform is an objective's prediction transform (xgboost's
// ObjFunction::PredTransform).
type transform uint8

const (
	transformIdentity transform = iota
	transformSigmoid            // 1 / (1 + exp(-x))
	transformExp                // exp(x)
	transformHinge              // x > 0 ? 1 : 0
	transformSoftprob           // softmax over the row's groups
	transformSoftmax            // index of the row's largest margin
)

// marginLink maps a stored base_score to the margin space
// (xgboost's ObjFunction::ProbToMargin).
type marginLink uint8

const (
	linkIdentity marginLink = iota
	linkLogit               // -log(1/p - 1)
	linkLog                 // log(p)
)

// objective is what prediction needs to know about a training objective.
type objective struct {
	name      string
	transform transform
	link      marginLink
	multi     bool // multi:* objectives: outputs per class
}

// lookupObjective returns the objective called name, with the transform and
// base_score link of xgboost 1.7/2.x.
func lookupObjective(name string) (objective, error) {
	o := objective{name: name}
	switch name {
	case "reg:squarederror":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:linear":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:squaredlogerror":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:pseudohubererror":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:absoluteerror":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:quantileerror":
		o.transform, o.link = transformIdentity, linkIdentity
	case "reg:logistic":
		o.transform, o.link = transformSigmoid, linkLogit
	case "binary:logistic":
		o.transform, o.link = transformSigmoid, linkLogit
	case "binary:logitraw":
		// LogisticRaw keeps the default identity ProbToMargin in 1.7.
		o.transform, o.link = transformIdentity, linkIdentity
	case "binary:hinge":
		o.transform, o.link = transformHinge, linkIdentity
	case "reg:gamma":
		o.transform, o.link = transformExp, linkLog
	case "reg:tweedie":
		o.transform, o.link = transformExp, linkLog
	case "count:poisson":
		o.transform, o.link = transformExp, linkLog
	case "survival:cox":
		o.transform, o.link = transformExp, linkLog
	case "survival:aft":
		o.transform, o.link = transformExp, linkLog
	case "multi:softmax":
		o.transform, o.link = transformSoftmax, linkIdentity
		o.multi = true
	case "multi:softprob":
		o.transform, o.link = transformSoftprob, linkIdentity
		o.multi = true
	case "rank:pairwise":
		o.transform, o.link = transformIdentity, linkIdentity
	case "rank:ndcg":
		o.transform, o.link = transformIdentity, linkIdentity
	case "rank:map":
		o.transform, o.link = transformIdentity, linkIdentity
	default:
		return objective{}, fmt.Errorf("unsupported objective %q", name)
	}
	return o, nil
}

// probToMargin converts a stored base_score to the margin every prediction
// starts from, in float32 as xgboost does.
func (o objective) probToMargin(base float32) (float32, error) {
	switch o.link {
	case linkLogit:
		if !(base > 0 && base < 1) {
			return 0, fmt.Errorf("base_score %g outside (0, 1) for %s", base, o.name)
		}
		return -logf(1/base - 1), nil
	case linkLog:
		if !(base > 0) {
			return 0, fmt.Errorf("base_score %g not positive for %s", base, o.name)
		}
		return logf(base), nil
	}
	return base, nil
}

// predTransform maps one margin through a scalar transform.
func (o objective) predTransform(x float32) float32 {
	switch o.transform {
	case transformSigmoid:
		return sigmoid(x)
	case transformExp:
		return expf(x)
	case transformHinge:
		if x > 0 {
			return 1
		}
		return 0
	}
	return x
}

func expf(x float32) float32 { return float32(math.Exp(float64(x))) }
func logf(x float32) float32 { return float32(math.Log(float64(x))) }

// sigmoid is xgboost's common::Sigmoid.
func sigmoid(x float32) float32 {
	const eps = 1e-16
	x = min(-x, 88.7)
	denom := expf(x) + 1 + eps
	return 1 / denom
}

// softmax is xgboost's common::Softmax, in place: float32 exponentials
// summed in float64.
func softmax(p []float32) {
	if len(p) == 0 {
		return
	}
	wmax := p[0]
	for _, v := range p[1:] {
		wmax = fmaxf(v, wmax)
	}
	var wsum float64
	for i, v := range p {
		e := expf(v - wmax)
		p[i] = e
		wsum += float64(e)
	}
	s := float32(wsum)
	for i := range p {
		p[i] /= s
	}
}

// fmaxf is C's fmaxf: NaN loses to a number.
func fmaxf(a, b float32) float32 {
	if a != a {
		return b
	}
	if b != b {
		return a
	}
	return max(a, b)
}

// argmax is xgboost's FindMaxIndex: the first largest element.
func argmax(p []float32) int {
	best := 0
	for i := 1; i < len(p); i++ {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}
