package fleet

import (
	"context"
	"slices"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/pool"
)

// ModelState implements serving.ModelRepository.
func (f *Fleet) ModelState(ctx context.Context, ep *serving.LiveEndpoint, variant, targetModel string) (serving.ModelState, error) {
	e, v, err := f.variantOf(ep, variant)
	if err != nil {
		return "", err
	}
	if v.multi == nil {
		return serving.ModelReady, nil
	}
	m, err := f.model(ctx, e, targetModel)
	if err != nil {
		return "", err
	}
	return stateOf(v.multi.Status(m.Tenant, targetModel)), nil
}

// LoadModel implements serving.ModelRepository.
func (f *Fleet) LoadModel(ctx context.Context, ep *serving.LiveEndpoint, variant, targetModel string) error {
	e, v, err := f.variantOf(ep, variant)
	if err != nil || v.multi == nil {
		return err
	}
	m, err := f.model(ctx, e, targetModel)
	if err != nil {
		return err
	}
	if err := v.multi.Load(ctx, pool.Target{Tenant: m.Tenant, Model: targetModel, Source: m.Opener, SizeHint: m.Size}); err != nil {
		return runtimeError(err)
	}
	return nil
}

// UnloadModel implements serving.ModelRepository.
func (f *Fleet) UnloadModel(ctx context.Context, ep *serving.LiveEndpoint, variant, targetModel string) error {
	e, v, err := f.variantOf(ep, variant)
	if err != nil {
		return err
	}
	if v.multi == nil {
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "endpoint %s serves one model, loaded while the endpoint is live: delete or update the endpoint to unload it", ep.Name)
	}
	m, err := f.model(ctx, e, targetModel)
	if err != nil {
		return err
	}
	v.multi.Remove(m.Tenant, targetModel)
	return nil
}

// IndexModels implements serving.ModelRepository.
func (f *Fleet) IndexModels(acct string) []serving.IndexedModel {
	f.mu.RLock()
	eps := make([]*endpoint, 0, len(f.live))
	for _, e := range f.live {
		if e.live.AccountID == acct {
			eps = append(eps, e)
		}
	}
	f.mu.RUnlock()
	var out []serving.IndexedModel
	for _, e := range eps {
		for _, v := range e.variants {
			if v.multi == nil {
				out = append(out, serving.IndexedModel{Endpoint: e.live.Name, Variant: v.name, Tenant: e.live.Tenant, State: serving.ModelReady})
				continue
			}
			for _, en := range v.multi.Entries() {
				out = append(out, serving.IndexedModel{Endpoint: e.live.Name, Variant: v.name, TargetModel: en.Key.Model, Tenant: en.Key.Tenant, State: stateOf(en.Status)})
			}
		}
	}
	slices.SortFunc(out, func(a, b serving.IndexedModel) int {
		return strings.Compare(a.Endpoint+"\x00"+a.TargetModel+"\x00"+a.Variant, b.Endpoint+"\x00"+b.TargetModel+"\x00"+b.Variant)
	})
	return out
}

// variantOf returns the live endpoint and its variant named variant (the
// first when ""), as the data plane holds them.
func (f *Fleet) variantOf(ep *serving.LiveEndpoint, variant string) (*endpoint, *variant, error) {
	e, err := f.get(ep)
	if err != nil {
		return nil, nil, err
	}
	if variant == "" {
		return e, e.variants[0], nil
	}
	v, err := e.pick(variant)
	return e, v, err
}

// model resolves a multi-model endpoint's TargetModel, a missing one
// answered as Invoke answers it.
func (f *Fleet) model(ctx context.Context, e *endpoint, targetModel string) (Model, error) {
	if targetModel == "" {
		return Model{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "Endpoint %s is a multi-model endpoint: the request must name a TargetModel.", e.live.Name)
	}
	m, err := f.resolve(ctx, e, targetModel)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return Model{}, serving.ErrModelNotFound(e.live.Name, targetModel)
	}
	return m, err
}

// stateOf names a pool model's cache state.
func stateOf(s cache.Status) serving.ModelState {
	switch s {
	case cache.Loaded:
		return serving.ModelReady
	case cache.Loading:
		return serving.ModelLoading
	case cache.Unloading:
		return serving.ModelUnloading
	}
	return serving.ModelUnavailable
}
