package keys

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	tenantpkg "github.com/tenantml/tenantml/tenant"
)

// KeyState is the lifecycle state of a key.
type KeyState string

// Key states (the AWS KMS names).
const (
	StateEnabled         KeyState = "Enabled"
	StateDisabled        KeyState = "Disabled"
	StatePendingDeletion KeyState = "PendingDeletion"
)

// Fixed attributes of the keys this service makes.
const (
	KeyUsageEncryptDecrypt = "ENCRYPT_DECRYPT"
	KeySpecSymmetric       = "SYMMETRIC_DEFAULT"
	AlgorithmSymmetric     = "SYMMETRIC_DEFAULT"
	OriginAWSKMS           = "AWS_KMS"
	KeyManagerCustomer     = "CUSTOMER"
)

// Deletion waiting period bounds, in days.
const (
	MinPendingWindowDays     = 7
	MaxPendingWindowDays     = 30
	DefaultPendingWindowDays = 30
)

// Automatic rotation period bounds, in days.
const (
	MinRotationPeriodDays     = 90
	MaxRotationPeriodDays     = 2560
	DefaultRotationPeriodDays = 365
)

// Rotation types of a key version.
const (
	RotationNone      = ""          // the original key material
	RotationAutomatic = "AUTOMATIC" // made by RotateDue
	RotationOnDemand  = "ON_DEMAND" // made by RotateKeyOnDemand
)

// MaxPolicySize is the largest key policy accepted, in bytes (AWS's limit).
const MaxPolicySize = 32 * 1024

// DefaultPolicyName is the only key policy name, as in AWS KMS.
const DefaultPolicyName = "default"

// KeyMetadata describes a key, as DescribeKey returns it.
type KeyMetadata struct {
	AWSAccountID                string    `json:"awsAccountId"`
	KeyID                       string    `json:"keyId"`
	Arn                         string    `json:"arn"`
	CreationDate                time.Time `json:"creationDate"`
	Enabled                     bool      `json:"enabled"`
	Description                 string    `json:"description"`
	KeyUsage                    string    `json:"keyUsage"`
	KeySpec                     string    `json:"keySpec"`
	KeyState                    KeyState  `json:"keyState"`
	DeletionDate                time.Time `json:"deletionDate,omitzero"`                 // zero unless PendingDeletion
	PendingDeletionWindowInDays int       `json:"pendingDeletionWindowInDays,omitempty"` // zero unless PendingDeletion
	Origin                      string    `json:"origin"`
	KeyManager                  string    `json:"keyManager"`
	EncryptionAlgorithms        []string  `json:"encryptionAlgorithms"`
	// CurrentVersion is the number of the primary key version (1 until
	// the first rotation).
	CurrentVersion int `json:"currentVersion"`
}

// Version is one generation of a key's material.
type Version struct {
	Number       int       `json:"number"`
	Created      time.Time `json:"created"`
	RotationType string    `json:"rotationType"` // RotationNone for version 1
}

// Tag is a resource tag.
type Tag struct {
	Key   string
	Value string
}

// RotationStatus is GetKeyRotationStatus's answer.
type RotationStatus struct {
	KeyID                string
	Enabled              bool
	RotationPeriodInDays int       // zero when disabled
	NextRotationDate     time.Time // zero when disabled
	OnDemandRotationDate time.Time // time of the last on-demand rotation, if any
}

// KeyListEntry is one row of ListKeys.
type KeyListEntry struct {
	KeyID  string
	KeyArn string
}

// AliasEntry is one row of ListAliases.
type AliasEntry struct {
	AliasName   string
	AliasArn    string
	TargetKeyID string
}

// keyDoc is the metadata document stored in Record.Meta.
type keyDoc struct {
	V        int          `json:"v"`
	Meta     KeyMetadata  `json:"meta"`
	Policy   string       `json:"policy"`
	Tags     []Tag        `json:"tags,omitempty"`
	Rotation rotationDoc  `json:"rotation"`
	Versions []versionDoc `json:"versions"`
}

type rotationDoc struct {
	Enabled      bool      `json:"enabled"`
	PeriodDays   int       `json:"period_days,omitempty"`
	Next         time.Time `json:"next,omitzero"`
	LastOnDemand time.Time `json:"last_on_demand,omitzero"`
}

type versionDoc struct {
	Number       int       `json:"n"`
	TinkID       uint32    `json:"tink_id"`
	Created      time.Time `json:"created"`
	RotationType string    `json:"type,omitempty"`
}

const docVersion = 1

func encodeDoc(d *keyDoc) ([]byte, error) {
	d.V = docVersion
	return json.Marshal(d)
}

func decodeDoc(b []byte) (*keyDoc, error) {
	var d keyDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decode key metadata: %w", err)
	}
	if d.V != docVersion {
		return nil, fmt.Errorf("decode key metadata: unknown version %d", d.V)
	}
	return &d, nil
}

func (d *keyDoc) version(n int) (versionDoc, bool) {
	for _, v := range d.Versions {
		if v.Number == n {
			return v, true
		}
	}
	return versionDoc{}, false
}

func (d *keyDoc) metadata() KeyMetadata {
	m := d.Meta
	m.EncryptionAlgorithms = append([]string(nil), m.EncryptionAlgorithms...)
	return m
}

func (d *keyDoc) versions() []Version {
	out := make([]Version, len(d.Versions))
	for i, v := range d.Versions {
		out[i] = Version{Number: v.Number, Created: v.Created, RotationType: v.RotationType}
	}
	return out
}

// DefaultKeyPolicy returns the key policy AWS KMS attaches when none is
// given: it allows the account's root principal every kms:* action, which
// delegates the decision to the account's IAM policies.
func DefaultKeyPolicy(account string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::%s:root"},
      "Action": "kms:*",
      "Resource": "*"
    }
  ]
}`, account)
}

// validatePolicy checks that policy is a JSON object within MaxPolicySize.
// Its meaning is the IAM engine's business.
func validatePolicy(policy string) error {
	if len(policy) > MaxPolicySize {
		return kmsErr(ExcMalformedPolicy, "key policy exceeds %d bytes", MaxPolicySize)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(policy), &obj); err != nil {
		return kmsErr(ExcMalformedPolicy, "key policy is not a JSON object")
	}
	return nil
}

var aliasRE = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,250}$`)

func validateAliasName(name string) error {
	if !aliasRE.MatchString(name) {
		return kmsErr(ExcInvalidAliasName, "alias name must match alias/[a-zA-Z0-9/_-]{1,250}")
	}
	if strings.HasPrefix(name, "alias/aws/") {
		return kmsErr(ExcInvalidAliasName, "alias names beginning alias/aws/ are reserved")
	}
	return nil
}

// Tag limits (AWS's).
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tenantTagKey is the tag naming a key's tenant.
const tenantTagKey = tenantpkg.TagKey

// validateTags checks tags for a key of tenant: the TenantID tag of a key,
// when given, must name its tenant.
func validateTags(tenant string, tags []Tag) error {
	for _, t := range tags {
		if strings.EqualFold(t.Key, tenantTagKey) && t.Value != tenant {
			return kmsErr(ExcTag, "the %s tag of a key is its tenant, %s", tenantTagKey, tenant)
		}
		if t.Key == "" || len(t.Key) > maxTagKeyLen || len(t.Value) > maxTagValueLen {
			return kmsErr(ExcTag, "tag keys must be 1-%d and values 0-%d characters", maxTagKeyLen, maxTagValueLen)
		}
		if strings.HasPrefix(t.Key, "aws:") {
			return kmsErr(ExcTag, "tag keys beginning aws: are reserved")
		}
	}
	return nil
}

// mergeTags upserts add into tags and returns them sorted by key.
func mergeTags(tags, add []Tag) []Tag {
	m := make(map[string]string, len(tags)+len(add))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	for _, t := range add {
		m[t.Key] = t.Value
	}
	out := make([]Tag, 0, len(m))
	for k, v := range m {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// account is the account that owns the key: its AWSAccountID, else def
// (keys written before accounts were recorded belong to the primary one).
func (d *keyDoc) account(def string) string {
	if d.Meta.AWSAccountID != "" {
		return d.Meta.AWSAccountID
	}
	return def
}
