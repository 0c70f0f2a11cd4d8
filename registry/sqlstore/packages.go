package sqlstore

import (
	"context"
	"maps"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store/sqltx"
)

const packageCols = `account_id, group_name, version, arn, tenant_id, created_at, description, inference, metrics, metadata,
	approval_status, approval_description, tags, created_by, last_modified_at, last_modified_by, approval_modified_at, approval_modified_by`

// containerJSON and inferenceJSON are the stored form of the inference
// specification.
type containerJSON struct {
	Image            string            `json:"image"`
	ModelDataURL     string            `json:"modelDataUrl,omitempty"`
	Environment      map[string]string `json:"environment,omitempty"`
	Framework        string            `json:"framework,omitempty"`
	FrameworkVersion string            `json:"frameworkVersion,omitempty"`
	ModelDataSHA256  string            `json:"modelDataSha256,omitempty"`
	ModelDataSize    int64             `json:"modelDataSize,omitempty"`
	ModelDataETag    string            `json:"modelDataEtag,omitempty"`
}

type inferenceJSON struct {
	Containers         []containerJSON `json:"containers"`
	ContentTypes       []string        `json:"contentTypes,omitempty"`
	ResponseMIMETypes  []string        `json:"responseMimeTypes,omitempty"`
	RealtimeInstances  []string        `json:"realtimeInstanceTypes,omitempty"`
	TransformInstances []string        `json:"transformInstanceTypes,omitempty"`
}

type metricsJSON struct {
	ContentType   string `json:"contentType"`
	ContentDigest string `json:"contentDigest,omitempty"`
	S3URI         string `json:"s3Uri"`
}

func toInference(s registry.InferenceSpecification) inferenceJSON {
	out := inferenceJSON{ContentTypes: s.SupportedContentTypes, ResponseMIMETypes: s.SupportedResponseMIMETypes,
		RealtimeInstances: s.SupportedRealtimeInferenceInstanceTypes, TransformInstances: s.SupportedTransformInstanceTypes}
	for _, c := range s.Containers {
		out.Containers = append(out.Containers, containerJSON(c))
	}
	return out
}

func fromInference(j inferenceJSON) registry.InferenceSpecification {
	out := registry.InferenceSpecification{SupportedContentTypes: j.ContentTypes, SupportedResponseMIMETypes: j.ResponseMIMETypes,
		SupportedRealtimeInferenceInstanceTypes: j.RealtimeInstances, SupportedTransformInstanceTypes: j.TransformInstances}
	for _, c := range j.Containers {
		out.Containers = append(out.Containers, registry.Container(c))
	}
	return out
}

func toMetrics(m map[string]registry.MetricsSource) map[string]metricsJSON {
	out := make(map[string]metricsJSON, len(m))
	for k, v := range m {
		out[k] = metricsJSON(v)
	}
	return out
}

func scanPackage(sc sqltx.Row) (*registry.Package, error) {
	p := &registry.Package{}
	var (
		inf                 inferenceJSON
		metrics             map[string]metricsJSON
		created, mod, appBy userJSON
		lastMod             *time.Time
	)
	err := sc.Scan(&p.AccountID, &p.GroupName, &p.Version, &p.ARN, &p.Tenant, sqltx.TimeCol{T: &p.CreatedAt}, &p.Description,
		sqltx.JSONCol{Dst: &inf}, sqltx.JSONCol{Dst: &metrics}, sqltx.JSONCol{Dst: &p.CustomerMetadata},
		&p.ApprovalStatus, &p.ApprovalDescription, sqltx.JSONCol{Dst: &p.Tags}, sqltx.JSONCol{Dst: &created},
		sqltx.TimeCol{P: &lastMod}, sqltx.JSONCol{Dst: &mod}, sqltx.TimeCol{T: &p.ApprovalModifiedAt}, sqltx.JSONCol{Dst: &appBy})
	if err != nil {
		return nil, err
	}
	p.Inference = fromInference(inf)
	if len(metrics) > 0 {
		p.Metrics = make(map[string]registry.MetricsSource, len(metrics))
		for k, v := range metrics {
			p.Metrics[k] = registry.MetricsSource(v)
		}
	}
	if len(p.CustomerMetadata) == 0 {
		p.CustomerMetadata = nil
	}
	if len(p.Tags) == 0 {
		p.Tags = nil
	}
	if lastMod != nil {
		p.LastModifiedAt = *lastMod
	}
	p.CreatedBy, p.LastModifiedBy, p.ApprovalModifiedBy = registry.UserContext(created), registry.UserContext(mod), registry.UserContext(appBy)
	return p, nil
}

// CreatePackage implements registry.Store.
func (s *Store) CreatePackage(ctx context.Context, p *registry.Package) error {
	if p == nil {
		return tenantml.Errorf(tenantml.EINVALID, "package is required")
	}
	if err := checkAccount(p.AccountID); err != nil {
		return err
	}
	if p.ApprovalStatus == "" {
		p.ApprovalStatus = registry.PendingManualApproval
	}
	if err := p.Validate(); err != nil {
		return err
	}
	created := s.now()
	approvalAt := p.ApprovalModifiedAt
	if approvalAt.IsZero() {
		approvalAt = created
	}
	var (
		version int
		g       *registry.Group
	)
	err := s.do(ctx, func(q *txn) (err error) {
		if g, err = q.group(p.AccountID, p.GroupName, s.forUpdate()); err != nil {
			return err
		}
		if err := tagsOK(p.Tags, g.Tenant); err != nil {
			return err
		}
		version = g.LatestVersion + 1
		n, err := q.Exec(`UPDATE registry_groups SET latest_version = ? WHERE account_id = ? AND name_lc = ?`, version, p.AccountID, lower(g.Name))
		if err != nil {
			return wrap("register model package", err)
		}
		if n == 0 {
			return readOnly("model package group " + truncate(g.Name))
		}
		_, err = q.Exec(`INSERT INTO registry_packages (group_lc, `+packageCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			lower(g.Name), p.AccountID, g.Name, version, registry.PackageARN(regionOf(g.ARN), p.AccountID, g.Name, version), g.Tenant,
			s.timeArg(created), p.Description, sqltx.JSON(toInference(p.Inference)), sqltx.JSON(toMetrics(p.Metrics)),
			sqltx.JSON(nonNil(p.CustomerMetadata)), string(p.ApprovalStatus), p.ApprovalDescription, sqltx.JSON(nonNil(p.Tags)),
			sqltx.JSON(userJSON(p.CreatedBy)), nil, sqltx.JSON(userJSON{}), s.timeArg(approvalAt), sqltx.JSON(userJSON(p.ApprovalModifiedBy)))
		if s.Dialect.IsUnique(err) {
			return tenantml.Errorf(tenantml.ECONFLICT, "model package %s/%d already exists", g.Name, version)
		}
		return wrap("register model package", err)
	})
	if err != nil {
		return err
	}
	p.GroupName, p.Version, p.Tenant, p.CreatedAt = g.Name, version, g.Tenant, created
	p.ARN = registry.PackageARN(regionOf(g.ARN), p.AccountID, g.Name, version)
	p.ApprovalModifiedAt = approvalAt.UTC().Truncate(time.Millisecond)
	return nil
}

// regionOf is the region of a stored ARN.
func regionOf(a string) string {
	parts := strings.SplitN(a, ":", 5)
	if len(parts) < 4 {
		return ""
	}
	return parts[3]
}

// GetPackage implements registry.Store.
func (s *Store) GetPackage(ctx context.Context, acct, group string, version int) (*registry.Package, error) {
	if err := checkAccount(acct); err != nil {
		return nil, err
	}
	var p *registry.Package
	err := s.view(ctx, func(q *txn) (err error) {
		p, err = q.pkg(acct, group, version, "")
		return err
	})
	return p, err
}

func (q *txn) pkg(acct, group string, version int, suffix string) (*registry.Package, error) {
	p, err := scanPackage(q.Row(`SELECT `+packageCols+` FROM registry_packages WHERE account_id = ? AND group_lc = ? AND version = ?`+suffix,
		acct, lower(group), version))
	if noRows(err) {
		return nil, packageNotFound(group, version)
	}
	return p, wrap("get model package", err)
}

// UpdatePackage implements registry.Store.
func (s *Store) UpdatePackage(ctx context.Context, acct, group string, version int, fn func(*registry.Package) error) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		p, err := q.pkg(acct, group, version, s.forUpdate())
		if err != nil {
			return err
		}
		before := maps.Clone(p.Tags)
		if err := fn(p); err != nil {
			return err
		}
		if !p.ApprovalStatus.Valid() {
			return tenantml.Errorf(tenantml.EINVALID, "approval status %q is not valid", truncate(string(p.ApprovalStatus)))
		}
		if err := registry.ValidateMetadata(p.CustomerMetadata); err != nil {
			return err
		}
		if err := fixedTenantTag(before, p.Tags); err != nil {
			return err
		}
		if err := tagsOK(p.Tags, p.Tenant); err != nil {
			return err
		}
		n, err := q.Exec(`UPDATE registry_packages SET approval_status = ?, approval_description = ?, metadata = ?, tags = ?,
			last_modified_at = ?, last_modified_by = ?, approval_modified_at = ?, approval_modified_by = ?
			WHERE account_id = ? AND group_lc = ? AND version = ?`,
			string(p.ApprovalStatus), p.ApprovalDescription, sqltx.JSON(nonNil(p.CustomerMetadata)), sqltx.JSON(nonNil(p.Tags)),
			s.nullTime(p.LastModifiedAt), sqltx.JSON(userJSON(p.LastModifiedBy)), s.timeArg(p.ApprovalModifiedAt), sqltx.JSON(userJSON(p.ApprovalModifiedBy)),
			acct, lower(group), version)
		if err != nil {
			return wrap("update model package", err)
		}
		if n == 0 {
			return readOnly("model package")
		}
		return nil
	})
}

// DeletePackage implements registry.Store.
func (s *Store) DeletePackage(ctx context.Context, acct, group string, version int) error {
	if err := checkAccount(acct); err != nil {
		return err
	}
	return s.do(ctx, func(q *txn) error {
		n, err := q.Exec(`DELETE FROM registry_packages WHERE account_id = ? AND group_lc = ? AND version = ?`, acct, lower(group), version)
		if err != nil {
			return wrap("delete model package", err)
		}
		if n == 0 {
			return packageNotFound(group, version)
		}
		return nil
	})
}

// ListPackages implements registry.Store.
func (s *Store) ListPackages(ctx context.Context, acct string, f registry.PackageFilter) ([]*registry.Package, string, error) {
	limit, err := checkList(acct, f.ListFilter)
	if err != nil {
		return nil, "", err
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ModelApprovalStatus %q is not valid", truncate(string(f.Status)))
	}
	lq := s.newListQuery(acct, f.ListFilter)
	if f.NameContains != "" {
		lq.where("group_lc LIKE ?", "%"+lower(f.NameContains)+"%")
	}
	if f.Group != "" {
		lq.where("group_lc = ?", lower(f.Group))
	}
	if f.Status != "" {
		lq.where("approval_status = ?", string(f.Status))
	}
	keys := []string{"group_lc", "version"}
	if err := lq.page(kindPackages, keys, f.ListFilter); err != nil {
		return nil, "", err
	}
	var out []*registry.Package
	err = s.view(ctx, func(q *txn) error {
		rows, err := q.Rows(`SELECT `+packageCols+` FROM registry_packages WHERE `+lq.cond()+` ORDER BY `+lq.order(keys, f.ListFilter)+` LIMIT ?`, append(lq.args, limit+1)...)
		if err != nil {
			return wrap("list model packages", err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPackage(rows)
			if err != nil {
				return wrap("list model packages", err)
			}
			out = append(out, p)
		}
		return wrap("list model packages", rows.Err())
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = cursor{Kind: kindPackages, ByTime: f.SortByCreationTime, Desc: f.Descending, Name: lower(last.GroupName), Version: last.Version,
			Created: last.CreatedAt.UnixMilli()}.token()
	}
	return out, next, nil
}
