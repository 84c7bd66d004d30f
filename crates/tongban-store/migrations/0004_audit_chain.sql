-- 审计链 (tamper-evident audit): the audit log stays append-only and is chained after the fact.
-- A step only inserts its audit rows, as before: it takes no lock shared with other steps. The
-- service's chainer then takes unchained rows in id order and appends them to audit_chain with
-- the next sequence number and hash = SM3(previous hash || canonical entry). The chain's order
-- is the chainer's order, not the id order (a row whose transaction commits late is chained
-- late). Checkpoints (chain position, head hash, time) are signed with the service's SM2 key.

-- The case a step was on (Step::join), so an auditor can page through one case's audit.
ALTER TABLE audit_log ADD COLUMN case_id UUID;
CREATE INDEX audit_log_case ON audit_log (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE audit_chain (
    seq        BIGINT      PRIMARY KEY,
    audit_id   BIGINT      NOT NULL UNIQUE,
    -- SM3(previous hash || canonical(entry)), 32 bytes.
    hash       BYTEA       NOT NULL,
    chained_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE audit_checkpoint (
    seq        BIGINT      PRIMARY KEY,
    head_hash  BYTEA       NOT NULL,
    -- Signing time as the signed message carries it (microseconds since the epoch).
    at_micros  BIGINT      NOT NULL,
    key_id     TEXT        NOT NULL,
    public_key TEXT        NOT NULL,
    signature  BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
