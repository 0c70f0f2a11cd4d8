package artifact

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/tenantml/tenantml"
)

// Bucket is an S3 bucket: a global name owned by an account.
type Bucket struct {
	Name    string
	Account string // owning account
	// Tenant is the tenant of the principal that created the bucket; ""
	// for a platform bucket (created by a platform principal).
	Tenant  string
	Created time.Time
	// Policy is the bucket policy document (JSON), "" when none.
	Policy string
	// Encryption is the default SSE-KMS key of new objects, nil when none.
	Encryption *KeyRef
	// Tags are the bucket's tags, sorted by key.
	Tags []Tag

	revision int64
}

func bucketFromRecord(r *BucketRecord) (*Bucket, error) {
	var d bucketDoc
	if len(r.Doc) > 0 {
		if err := json.Unmarshal(r.Doc, &d); err != nil {
			return nil, fmt.Errorf("decode bucket %s: %w", r.Name, err)
		}
	}
	return &Bucket{Name: r.Name, Account: r.Account, Tenant: r.Tenant, Created: r.Created,
		Policy: d.Policy, Encryption: d.Encryption, Tags: d.Tags, revision: r.Revision}, nil
}

func (b *Bucket) record() *BucketRecord {
	return &BucketRecord{Name: b.Name, Account: b.Account, Tenant: b.Tenant, Created: b.Created,
		Doc: mustJSON(bucketDoc{Policy: b.Policy, Encryption: b.Encryption, Tags: b.Tags}), Revision: b.revision}
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// CreateBucketInput is CreateBucket's request.
type CreateBucketInput struct {
	Name    string
	Account string // the caller's account: the owner
	Tenant  string // the caller's TenantID; "" for a platform caller
}

// CreateBucket creates a bucket owned by in.Account. A name taken by the
// same account is BucketAlreadyOwnedByYou, by another account
// BucketAlreadyExists (bucket names are global, as on S3).
func (s *Store) CreateBucket(ctx context.Context, in CreateBucketInput) (*Bucket, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if err := ValidateBucketName(in.Name); err != nil {
		return nil, err
	}
	if !accountRE.MatchString(in.Account) {
		return nil, tenantml.Errorf(tenantml.EINVALID, "bucket owner must be a 12-digit account")
	}
	b := &Bucket{Name: in.Name, Account: in.Account, Tenant: in.Tenant, Created: s.now(), revision: 1}
	err := s.cfg.Index.CreateBucket(ctx, b.record())
	if isConflict(err) {
		cur, gerr := s.cfg.Index.GetBucket(ctx, in.Name)
		if gerr == nil && cur.Account == in.Account {
			return nil, s3Err(CodeBucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.")
		}
		return nil, s3Err(CodeBucketAlreadyExists, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket: %w", err)
	}
	return b, nil
}

// GetBucket returns the bucket (HeadBucket, and what authorization needs:
// owner, policy, tags). A bad name is NoSuchBucket too: there is nothing
// to learn from it.
func (s *Store) GetBucket(ctx context.Context, name string) (*Bucket, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if ValidateBucketName(name) != nil {
		return nil, errNoSuchBucket()
	}
	r, err := s.cfg.Index.GetBucket(ctx, name)
	if isNotFound(err) {
		return nil, errNoSuchBucket()
	}
	if err != nil {
		return nil, fmt.Errorf("get bucket: %w", err)
	}
	return bucketFromRecord(r)
}

// ListBuckets returns the account's buckets sorted by name.
func (s *Store) ListBuckets(ctx context.Context, account string) ([]*Bucket, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	if !accountRE.MatchString(account) {
		return nil, tenantml.Errorf(tenantml.EINVALID, "account must be 12 digits")
	}
	rs, err := s.cfg.Index.ListBuckets(ctx, account)
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	out := make([]*Bucket, 0, len(rs))
	for _, r := range rs {
		b, err := bucketFromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// DeleteBucket deletes an empty bucket: one holding objects or multipart
// uploads is BucketNotEmpty. The artifact bucket cannot be deleted.
func (s *Store) DeleteBucket(ctx context.Context, name string) error {
	if _, err := s.GetBucket(ctx, name); err != nil {
		return err
	}
	if name == s.cfg.ArtifactBucket {
		return s3Err(CodeInvalidArgument, "The artifact bucket cannot be deleted.")
	}
	err := s.cfg.Index.DeleteBucket(ctx, name)
	switch {
	case isNotFound(err):
		return errNoSuchBucket()
	case isConflict(err):
		return s3Err(CodeBucketNotEmpty, "The bucket you tried to delete is not empty")
	case err != nil:
		return fmt.Errorf("delete bucket: %w", err)
	}
	return nil
}

// updateBucket applies fn to the bucket and stores it, retrying a lost
// revision race.
func (s *Store) updateBucket(ctx context.Context, name string, fn func(*Bucket) error) error {
	for range 5 {
		b, err := s.GetBucket(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		_, err = s.cfg.Index.UpdateBucket(ctx, b.record())
		switch {
		case err == nil:
			return nil
		case isNotFound(err):
			return errNoSuchBucket()
		case !isConflict(err):
			return fmt.Errorf("update bucket: %w", err)
		}
	}
	return s3Err(CodeConflict, "A conflicting conditional operation is currently in progress against this resource. Please try again.")
}

// PutBucketPolicy sets the bucket policy. The document must be a JSON
// object of at most 20 KiB; evaluating it is the IAM engine's business.
func (s *Store) PutBucketPolicy(ctx context.Context, name, policy string) error {
	var doc map[string]any
	if len(policy) > MaxPolicyBytes || json.Unmarshal([]byte(policy), &doc) != nil || doc == nil {
		return s3Err(CodeMalformedPolicy, "Policies must be valid JSON objects of at most %d bytes", MaxPolicyBytes)
	}
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Policy = policy; return nil })
}

// GetBucketPolicy returns the bucket policy; NoSuchBucketPolicy when none.
func (s *Store) GetBucketPolicy(ctx context.Context, name string) (string, error) {
	b, err := s.GetBucket(ctx, name)
	if err != nil {
		return "", err
	}
	if b.Policy == "" {
		return "", s3Err(CodeNoSuchBucketPolicy, "The bucket policy does not exist")
	}
	return b.Policy, nil
}

// DeleteBucketPolicy removes the bucket policy (a no-op when none).
func (s *Store) DeleteBucketPolicy(ctx context.Context, name string) error {
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Policy = ""; return nil })
}

// PutBucketEncryption sets the default SSE-KMS key of new objects; the
// caller resolved key to its owning tenant (and checked the caller may use
// it).
func (s *Store) PutBucketEncryption(ctx context.Context, name string, key KeyRef) error {
	if err := key.validate(); err != nil {
		return s3Err(CodeInvalidArgument, "The default encryption key must name a KMS key.")
	}
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Encryption = &key; return nil })
}

// GetBucketEncryption returns the default key;
// ServerSideEncryptionConfigurationNotFoundError when none.
func (s *Store) GetBucketEncryption(ctx context.Context, name string) (KeyRef, error) {
	b, err := s.GetBucket(ctx, name)
	if err != nil {
		return KeyRef{}, err
	}
	if b.Encryption == nil {
		return KeyRef{}, s3Err(CodeNoEncryptionConfig, "The server side encryption configuration was not found")
	}
	return *b.Encryption, nil
}

// DeleteBucketEncryption removes the default key.
func (s *Store) DeleteBucketEncryption(ctx context.Context, name string) error {
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Encryption = nil; return nil })
}

// PutBucketTagging replaces the bucket's tags (at most 50).
func (s *Store) PutBucketTagging(ctx context.Context, name string, tags []Tag) error {
	tags, err := validateTags(tags, MaxBucketTags)
	if err != nil {
		return err
	}
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Tags = tags; return nil })
}

// GetBucketTagging returns the bucket's tags; NoSuchTagSet when none.
func (s *Store) GetBucketTagging(ctx context.Context, name string) ([]Tag, error) {
	b, err := s.GetBucket(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(b.Tags) == 0 {
		return nil, s3Err(CodeNoSuchTagSet, "The TagSet does not exist")
	}
	return b.Tags, nil
}

// DeleteBucketTagging removes the bucket's tags.
func (s *Store) DeleteBucketTagging(ctx context.Context, name string) error {
	return s.updateBucket(ctx, name, func(b *Bucket) error { b.Tags = nil; return nil })
}

// ensureArtifactBucket creates the artifact bucket, owned by the platform
// account, unless it exists.
func (s *Store) ensureArtifactBucket(ctx context.Context) error {
	b, err := s.GetBucket(ctx, s.cfg.ArtifactBucket)
	if err == nil && b.Account != s.cfg.Keys.Account() {
		return fmt.Errorf("artifact bucket %s belongs to another account", b.Name)
	}
	if CodeOf(err) != CodeNoSuchBucket {
		return err
	}
	_, err = s.CreateBucket(ctx, CreateBucketInput{Name: s.cfg.ArtifactBucket, Account: s.cfg.Keys.Account()})
	if CodeOf(err) == CodeBucketAlreadyOwnedByYou {
		return nil // created concurrently by another gateway
	}
	return err
}
