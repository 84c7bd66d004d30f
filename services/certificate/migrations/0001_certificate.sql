-- certificate (电子证照): the trust list (provincial roots, issuers' endorsed keys), the
-- certificates issued here with their status, and every status change. Holder ID numbers are
-- sealed (SM4) and looked up by keyed digest; private keys live in the state directory only.

CREATE TABLE trust_roots (
    province   TEXT        PRIMARY KEY,
    key_id     TEXT        NOT NULL UNIQUE,
    public_key TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE trust_issuers (
    key_id         TEXT        PRIMARY KEY,
    office_id      TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    credit_code    TEXT        NOT NULL,
    province       TEXT        NOT NULL REFERENCES trust_roots (province),
    public_key     TEXT        NOT NULL,
    -- NULL for the office's current key; set when the key is rotated out.
    valid_until    TIMESTAMPTZ,
    root_signature BYTEA       NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX trust_issuers_current ON trust_issuers (office_id) WHERE valid_until IS NULL;

CREATE SEQUENCE certificate_serial;

CREATE TABLE certificates (
    identifier        TEXT        PRIMARY KEY,
    type_code         TEXT        NOT NULL,
    issuer_office_id  TEXT        NOT NULL,
    key_id            TEXT        NOT NULL REFERENCES trust_issuers (key_id),
    holder_name       TEXT        NOT NULL,
    holder_id_sealed  BYTEA       NOT NULL,
    holder_id_digest  TEXT        NOT NULL,
    valid_from        TIMESTAMPTZ NOT NULL,
    valid_until       TIMESTAMPTZ NOT NULL,
    issued_at         TIMESTAMPTZ NOT NULL,
    fields            JSONB       NOT NULL,
    -- 01 有效 … 07 吊销.
    status            TEXT        NOT NULL,
    case_id           UUID,
    token             TEXT        NOT NULL
);
CREATE INDEX certificates_holder ON certificates (holder_id_digest);
CREATE UNIQUE INDEX certificates_case ON certificates (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE certificate_status_changes (
    id          BIGSERIAL   PRIMARY KEY,
    identifier  TEXT        NOT NULL REFERENCES certificates (identifier),
    from_status TEXT        NOT NULL,
    to_status   TEXT        NOT NULL,
    reason      TEXT        NOT NULL,
    actor       TEXT        NOT NULL,
    office_id   TEXT        NOT NULL,
    at          TIMESTAMPTZ NOT NULL
);
