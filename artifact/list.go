package artifact

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxListKeys is the most entries one listing page returns.
const MaxListKeys = 1000

// maxRune sorts after every other character: a position just past every
// key starting with a common prefix is that prefix plus maxRune.
const maxRune = "\U0010FFFF"

// ListObjectsInput is ListObjectsV2's request.
type ListObjectsInput struct {
	Prefix    string
	Delimiter string
	// MaxKeys caps Objects plus CommonPrefixes; values above MaxListKeys
	// are MaxListKeys, 0 lists nothing (the surface defaults it to 1000).
	MaxKeys           int
	ContinuationToken string // from a previous page; wins over StartAfter
	StartAfter        string
}

// ListObjectsOutput is one page of a listing.
type ListObjectsOutput struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	// IsTruncated reports more entries; NextContinuationToken resumes
	// after this page. The token is opaque and valid only for this bucket.
	IsTruncated           bool
	NextContinuationToken string
}

// KeyCount is the number of entries on the page.
func (o *ListObjectsOutput) KeyCount() int { return len(o.Objects) + len(o.CommonPrefixes) }

func validListString(s, what string) error {
	if len(s) > MaxKeyBytes || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return s3Err(CodeInvalidArgument, "Invalid %s: at most %d bytes of UTF-8 without NUL.", what, MaxKeyBytes)
	}
	return nil
}

// ListObjects lists the bucket's objects in key order (UTF-8 bytes) with
// S3's ListObjectsV2 semantics: keys under Prefix; with a Delimiter, keys
// containing it after the prefix roll up into CommonPrefixes (each counted
// once, however many keys it holds, and skipped over in the index rather
// than read); at most MaxKeys entries per page.
func (s *Store) ListObjects(ctx context.Context, bucket string, in ListObjectsInput) (*ListObjectsOutput, error) {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	for what, v := range map[string]string{"prefix": in.Prefix, "delimiter": in.Delimiter, "start-after": in.StartAfter} {
		if err := validListString(v, what); err != nil {
			return nil, err
		}
	}
	if in.MaxKeys < 0 {
		return nil, s3Err(CodeInvalidArgument, "max-keys must not be negative")
	}
	limit := min(in.MaxKeys, MaxListKeys)
	pos := listPosition{After: in.StartAfter}
	if in.ContinuationToken != "" {
		p, err := s.tokens.open(bucket, in.ContinuationToken)
		if err != nil {
			return nil, err
		}
		pos = p
	}
	out := &ListObjectsOutput{}
	if limit == 0 {
		return out, nil
	}
	after, skip, count := pos.After, pos.Skip, 0
	for {
		want := limit - count + 1
		rows, err := s.cfg.Index.ListObjects(ctx, bucket, ObjectFilter{Prefix: in.Prefix, After: after, Limit: want})
		if err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		for _, r := range rows {
			after = r.Key
			if skip != "" && strings.HasPrefix(r.Key, skip) {
				continue
			}
			cp := ""
			if in.Delimiter != "" {
				if i := strings.Index(r.Key[len(in.Prefix):], in.Delimiter); i >= 0 {
					cp = r.Key[:len(in.Prefix)+i+len(in.Delimiter)]
				}
			}
			if count == limit {
				out.IsTruncated = true
				tok, err := s.tokens.seal(bucket, pos)
				if err != nil {
					return nil, err
				}
				out.NextContinuationToken = tok
				return out, nil
			}
			count++
			if cp != "" {
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				skip = cp
				pos = listPosition{After: skipPast(cp, r.Key), Skip: cp}
				continue
			}
			out.Objects = append(out.Objects, ObjectInfo{Key: r.Key, Size: r.Size, ETag: r.ETag, LastModified: r.LastModified, Tenant: r.Tenant})
			pos = listPosition{After: r.Key, Skip: skip}
		}
		if len(rows) < want {
			return out, nil
		}
		if skip != "" && strings.HasPrefix(after, skip) {
			after = skipPast(skip, after)
		}
	}
}

// skipPast is the position after every key starting with prefix (or
// after key, in the pathological case of keys continuing the prefix with
// U+10FFFF).
func skipPast(prefix, key string) string {
	if p := prefix + maxRune; p > key {
		return p
	}
	return key
}
