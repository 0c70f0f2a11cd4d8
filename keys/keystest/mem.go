package keystest

import (
	"context"
	"sort"
	"sync"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// MemStore is an in-memory keys.Store for tests. The zero value is not
// usable; call NewMemStore.
type MemStore struct {
	mu      sync.Mutex
	keys    map[[2]string]keys.Record
	aliases map[[2]string]keys.Alias
}

var _ keys.Store = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore {
	return &MemStore{keys: map[[2]string]keys.Record{}, aliases: map[[2]string]keys.Alias{}}
}

func needTenant(tenant string) error {
	if tenant == "" {
		return tenantml.Errorf(tenantml.EINVALID, "tenant is required")
	}
	return nil
}

func cloneRecord(r keys.Record) *keys.Record {
	r.Meta = append([]byte(nil), r.Meta...)
	r.Keyset = append([]byte(nil), r.Keyset...)
	return &r
}

// GetKey implements keys.Store.
func (m *MemStore) GetKey(_ context.Context, tenant, id string) (*keys.Record, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.keys[[2]string{tenant, id}]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	return cloneRecord(r), nil
}

// ListKeys implements keys.Store.
func (m *MemStore) ListKeys(_ context.Context, tenant string) ([]*keys.Record, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*keys.Record
	for k, r := range m.keys {
		if k[0] == tenant {
			out = append(out, cloneRecord(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// PutKey implements keys.Store.
func (m *MemStore) PutKey(_ context.Context, rec *keys.Record) (int64, error) {
	if err := needTenant(rec.Tenant); err != nil {
		return 0, err
	}
	if rec.ID == "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "key id is required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{rec.Tenant, rec.ID}
	cur, ok := m.keys[k]
	if (!ok && rec.Revision != 0) || (ok && cur.Revision != rec.Revision) {
		return 0, tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
	}
	r := *cloneRecord(*rec)
	r.Revision = rec.Revision + 1
	m.keys[k] = r
	return r.Revision, nil
}

// DeleteKey implements keys.Store.
func (m *MemStore) DeleteKey(_ context.Context, tenant, id string, revision int64) error {
	if err := needTenant(tenant); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{tenant, id}
	cur, ok := m.keys[k]
	if !ok {
		return tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	if cur.Revision != revision {
		return tenantml.Errorf(tenantml.ECONFLICT, "key changed concurrently")
	}
	delete(m.keys, k)
	return nil
}

// GetAlias implements keys.Store.
func (m *MemStore) GetAlias(_ context.Context, tenant, name string) (*keys.Alias, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.aliases[[2]string{tenant, name}]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
	}
	return &a, nil
}

// ListAliases implements keys.Store.
func (m *MemStore) ListAliases(_ context.Context, tenant string) ([]*keys.Alias, error) {
	if err := needTenant(tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*keys.Alias
	for k, a := range m.aliases {
		if k[0] == tenant {
			a := a
			out = append(out, &a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// PutAlias implements keys.Store.
func (m *MemStore) PutAlias(_ context.Context, a *keys.Alias) (int64, error) {
	if err := needTenant(a.Tenant); err != nil {
		return 0, err
	}
	if a.Name == "" {
		return 0, tenantml.Errorf(tenantml.EINVALID, "alias name is required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{a.Tenant, a.Name}
	cur, ok := m.aliases[k]
	if (!ok && a.Revision != 0) || (ok && cur.Revision != a.Revision) {
		return 0, tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
	}
	n := *a
	n.Revision = a.Revision + 1
	m.aliases[k] = n
	return n.Revision, nil
}

// DeleteAlias implements keys.Store.
func (m *MemStore) DeleteAlias(_ context.Context, tenant, name string, revision int64) error {
	if err := needTenant(tenant); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{tenant, name}
	cur, ok := m.aliases[k]
	if !ok {
		return tenantml.Errorf(tenantml.ENOTFOUND, "alias not found")
	}
	if cur.Revision != revision {
		return tenantml.Errorf(tenantml.ECONFLICT, "alias changed concurrently")
	}
	delete(m.aliases, k)
	return nil
}

// ListTenants implements keys.Store.
func (m *MemStore) ListTenants(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for k := range m.keys {
		if !seen[k[0]] {
			seen[k[0]] = true
			out = append(out, k[0])
		}
	}
	sort.Strings(out)
	return out, nil
}

// FindKeyOwner implements keys.Store.
func (m *MemStore) FindKeyOwner(_ context.Context, id string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var owners []string
	for k := range m.keys {
		if k[1] == id {
			owners = append(owners, k[0])
		}
	}
	if len(owners) != 1 {
		return "", tenantml.Errorf(tenantml.ENOTFOUND, "key not found")
	}
	return owners[0], nil
}
