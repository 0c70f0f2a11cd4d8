package kms

import (
	"context"
	"strconv"
	"time"

	"github.com/tenantml/tenantml/keys"
)

// symmetricDefault is the only encryption algorithm of the keys.
const symmetricDefault = "SYMMETRIC_DEFAULT"

// request is the union of the KMS request fields the operations read
// (unknown fields, e.g. GrantTokens, are ignored as AWS ignores them
// where they do not apply).
type request struct {
	KeyID                        string            `json:"KeyId"`
	Description                  string            `json:"Description"`
	KeyUsage                     string            `json:"KeyUsage"`
	KeySpec                      string            `json:"KeySpec"`
	CustomerMasterKeySpec        string            `json:"CustomerMasterKeySpec"`
	Policy                       string            `json:"Policy"`
	PolicyName                   string            `json:"PolicyName"`
	Tags                         []tag             `json:"Tags"`
	Plaintext                    []byte            `json:"Plaintext"`
	CiphertextBlob               []byte            `json:"CiphertextBlob"`
	EncryptionContext            map[string]string `json:"EncryptionContext"`
	NumberOfBytes                int               `json:"NumberOfBytes"`
	SourceKeyID                  string            `json:"SourceKeyId"`
	SourceEncryptionContext      map[string]string `json:"SourceEncryptionContext"`
	DestinationKeyID             string            `json:"DestinationKeyId"`
	DestinationEncryptionContext map[string]string `json:"DestinationEncryptionContext"`
	TagKeys                      []string          `json:"TagKeys"`
	AliasName                    string            `json:"AliasName"`
	TargetKeyID                  string            `json:"TargetKeyId"`
	RotationPeriodInDays         int               `json:"RotationPeriodInDays"`
	PendingWindowInDays          int               `json:"PendingWindowInDays"`
}

type tag struct {
	TagKey   string `json:"TagKey"`
	TagValue string `json:"TagValue"`
}

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(formatEpoch(t)), nil
}

func formatEpoch(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}

func epochPtr(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// keyMetadata is KMS's KeyMetadata structure.
type keyMetadata struct {
	AWSAccountID                string   `json:"AWSAccountId"`
	KeyID                       string   `json:"KeyId"`
	Arn                         string   `json:"Arn"`
	CreationDate                *epoch   `json:"CreationDate,omitempty"`
	Enabled                     bool     `json:"Enabled"`
	Description                 string   `json:"Description"`
	KeyUsage                    string   `json:"KeyUsage"`
	KeyState                    string   `json:"KeyState"`
	DeletionDate                *epoch   `json:"DeletionDate,omitempty"`
	PendingDeletionWindowInDays int      `json:"PendingDeletionWindowInDays,omitempty"`
	Origin                      string   `json:"Origin"`
	KeyManager                  string   `json:"KeyManager"`
	KeySpec                     string   `json:"KeySpec"`
	CustomerMasterKeySpec       string   `json:"CustomerMasterKeySpec"`
	EncryptionAlgorithms        []string `json:"EncryptionAlgorithms"`
	MultiRegion                 bool     `json:"MultiRegion"`
}

func toMetadata(m keys.KeyMetadata) keyMetadata {
	return keyMetadata{
		AWSAccountID: m.AWSAccountID, KeyID: m.KeyID, Arn: m.Arn, CreationDate: epochPtr(m.CreationDate),
		Enabled: m.Enabled, Description: m.Description, KeyUsage: m.KeyUsage, KeyState: string(m.KeyState),
		DeletionDate: epochPtr(m.DeletionDate), PendingDeletionWindowInDays: m.PendingDeletionWindowInDays,
		Origin: m.Origin, KeyManager: m.KeyManager, KeySpec: m.KeySpec, CustomerMasterKeySpec: m.KeySpec,
		EncryptionAlgorithms: m.EncryptionAlgorithms,
	}
}

func toTags(in []tag) []keys.Tag {
	out := make([]keys.Tag, len(in))
	for i, t := range in {
		out[i] = keys.Tag{Key: t.TagKey, Value: t.TagValue}
	}
	return out
}

// operation is one KMS operation: the key it names and its work.
type operation struct {
	key    keyOf
	handle handler
}

// byKeyID names the key of operations naming KeyId.
func byKeyID(in *request) string { return in.KeyID }

// byCiphertext names the key of Decrypt and ReEncrypt: the named source
// key, else the key recorded in the ciphertext.
func byCiphertext(in *request) string {
	if in.KeyID != "" {
		return in.KeyID
	}
	if in.SourceKeyID != "" {
		return in.SourceKeyID
	}
	id, _, err := keys.BlobKeyID(in.CiphertextBlob)
	if err != nil {
		return ""
	}
	return id
}

// operations maps each KMS operation name to its resource and handler.
func (s *Surface) operations() map[string]operation {
	return map[string]operation{
		"CreateKey": {nil, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			spec := in.KeySpec
			if spec == "" {
				spec = in.CustomerMasterKeySpec
			}
			m, err := k.CreateKey(ctx, t, keys.CreateKeyInput{Description: in.Description, Policy: in.Policy, Tags: toTags(in.Tags), KeyUsage: in.KeyUsage, KeySpec: spec})
			if err != nil {
				return nil, err
			}
			return map[string]any{"KeyMetadata": toMetadata(m)}, nil
		}},
		"DescribeKey": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			m, err := k.DescribeKey(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"KeyMetadata": toMetadata(m)}, nil
		}},
		"ListKeys": {nil, func(ctx context.Context, k *keys.Service, t string, _ *request) (any, error) {
			list, err := k.ListKeys(ctx, t)
			if err != nil {
				return nil, err
			}
			type entry struct {
				KeyID  string `json:"KeyId"`
				KeyArn string `json:"KeyArn"`
			}
			out := make([]entry, len(list))
			for i, e := range list {
				out[i] = entry{e.KeyID, e.KeyArn}
			}
			return map[string]any{"Keys": out, "Truncated": false}, nil
		}},
		"Encrypt": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			o, err := k.Encrypt(ctx, t, keys.EncryptInput{KeyID: in.KeyID, Plaintext: in.Plaintext, EncryptionContext: in.EncryptionContext})
			if err != nil {
				return nil, err
			}
			return map[string]any{"CiphertextBlob": o.CiphertextBlob, "KeyId": o.KeyID, "EncryptionAlgorithm": symmetricDefault}, nil
		}},
		"Decrypt": {byCiphertext, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			o, err := k.Decrypt(ctx, t, keys.DecryptInput{CiphertextBlob: in.CiphertextBlob, EncryptionContext: in.EncryptionContext, KeyID: in.KeyID})
			if err != nil {
				return nil, err
			}
			return map[string]any{"Plaintext": o.Plaintext, "KeyId": o.KeyID, "EncryptionAlgorithm": symmetricDefault}, nil
		}},
		"GenerateDataKey": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			o, err := k.GenerateDataKey(ctx, t, keys.GenerateDataKeyInput{KeyID: in.KeyID, EncryptionContext: in.EncryptionContext, KeySpec: in.KeySpec, NumberOfBytes: in.NumberOfBytes})
			if err != nil {
				return nil, err
			}
			return map[string]any{"CiphertextBlob": o.CiphertextBlob, "Plaintext": o.Plaintext, "KeyId": o.KeyID}, nil
		}},
		"GenerateDataKeyWithoutPlaintext": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			o, err := k.GenerateDataKeyWithoutPlaintext(ctx, t, keys.GenerateDataKeyInput{KeyID: in.KeyID, EncryptionContext: in.EncryptionContext, KeySpec: in.KeySpec, NumberOfBytes: in.NumberOfBytes})
			if err != nil {
				return nil, err
			}
			return map[string]any{"CiphertextBlob": o.CiphertextBlob, "KeyId": o.KeyID}, nil
		}},
		"ReEncrypt": {byCiphertext, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			o, err := k.ReEncrypt(ctx, t, keys.ReEncryptInput{CiphertextBlob: in.CiphertextBlob, SourceEncryptionContext: in.SourceEncryptionContext, SourceKeyID: in.SourceKeyID,
				DestinationKeyID: in.DestinationKeyID, DestinationEncryptionContext: in.DestinationEncryptionContext})
			if err != nil {
				return nil, err
			}
			return map[string]any{"CiphertextBlob": o.CiphertextBlob, "SourceKeyId": o.SourceKeyID, "KeyId": o.KeyID,
				"SourceEncryptionAlgorithm": symmetricDefault, "DestinationEncryptionAlgorithm": symmetricDefault}, nil
		}},
		"CreateAlias": {func(in *request) string { return in.TargetKeyID },
			func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
				return struct{}{}, k.CreateAlias(ctx, t, in.AliasName, in.TargetKeyID)
			}},
		"ListAliases": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			list, err := k.ListAliases(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			type entry struct {
				AliasName   string `json:"AliasName"`
				AliasArn    string `json:"AliasArn"`
				TargetKeyID string `json:"TargetKeyId,omitempty"`
			}
			out := make([]entry, len(list))
			for i, e := range list {
				out[i] = entry{e.AliasName, e.AliasArn, e.TargetKeyID}
			}
			return map[string]any{"Aliases": out, "Truncated": false}, nil
		}},
		"EnableKeyRotation": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.EnableKeyRotation(ctx, t, in.KeyID, in.RotationPeriodInDays)
		}},
		"GetKeyRotationStatus": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			st, err := k.GetKeyRotationStatus(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			out := map[string]any{"KeyRotationEnabled": st.Enabled, "KeyId": st.KeyID}
			if st.RotationPeriodInDays != 0 {
				out["RotationPeriodInDays"] = st.RotationPeriodInDays
			}
			if e := epochPtr(st.NextRotationDate); e != nil {
				out["NextRotationDate"] = e
			}
			if e := epochPtr(st.OnDemandRotationDate); e != nil {
				out["OnDemandRotationStartDate"] = e
			}
			return out, nil
		}},
		"RotateKeyOnDemand": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			if _, err := k.RotateKeyOnDemand(ctx, t, in.KeyID); err != nil {
				return nil, err
			}
			m, err := k.DescribeKey(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"KeyId": m.Arn}, nil
		}},
		"DisableKey": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.DisableKey(ctx, t, in.KeyID)
		}},
		"EnableKey": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.EnableKey(ctx, t, in.KeyID)
		}},
		"ScheduleKeyDeletion": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			when, err := k.ScheduleKeyDeletion(ctx, t, in.KeyID, in.PendingWindowInDays)
			if err != nil {
				return nil, err
			}
			m, err := k.DescribeKey(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"KeyId": m.Arn, "DeletionDate": epoch(when), "KeyState": string(m.KeyState), "PendingWindowInDays": m.PendingDeletionWindowInDays}, nil
		}},
		"CancelKeyDeletion": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			if err := k.CancelKeyDeletion(ctx, t, in.KeyID); err != nil {
				return nil, err
			}
			m, err := k.DescribeKey(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			return map[string]any{"KeyId": m.Arn}, nil
		}},
		"PutKeyPolicy": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			name := in.PolicyName
			if name == "" {
				name = "default"
			}
			return struct{}{}, k.PutKeyPolicy(ctx, t, in.KeyID, name, in.Policy)
		}},
		"GetKeyPolicy": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			name := in.PolicyName
			if name == "" {
				name = "default"
			}
			p, err := k.GetKeyPolicy(ctx, t, in.KeyID, name)
			if err != nil {
				return nil, err
			}
			return map[string]any{"Policy": p, "PolicyName": name}, nil
		}},
		"TagResource": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.TagResource(ctx, t, in.KeyID, toTags(in.Tags))
		}},
		"UntagResource": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.UntagResource(ctx, t, in.KeyID, in.TagKeys)
		}},
		"ListResourceTags": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			list, err := k.ListResourceTags(ctx, t, in.KeyID)
			if err != nil {
				return nil, err
			}
			out := make([]tag, len(list))
			for i, g := range list {
				out[i] = tag{g.Key, g.Value}
			}
			return map[string]any{"Tags": out, "Truncated": false}, nil
		}},
		"DisableKeyRotation": {byKeyID, func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
			return struct{}{}, k.DisableKeyRotation(ctx, t, in.KeyID)
		}},
		"UpdateAlias": {func(in *request) string { return in.TargetKeyID },
			func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
				return struct{}{}, k.UpdateAlias(ctx, t, in.AliasName, in.TargetKeyID)
			}},
		"DeleteAlias": {func(in *request) string { return in.AliasName },
			func(ctx context.Context, k *keys.Service, t string, in *request) (any, error) {
				return struct{}{}, k.DeleteAlias(ctx, t, in.AliasName)
			}},
	}
}
