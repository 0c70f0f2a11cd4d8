-- Key IDs are UUIDs, unique across tenants: the platform finds a key's
-- owner by its ID alone (keys.Store.FindKeyOwner, an operator read).
CREATE INDEX kms_keys_key_id ON kms_keys (key_id);
