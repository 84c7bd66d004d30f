-- intake: cases as accepted at the window, their clock ledger and timeline, idempotency keys
-- and the daily case-number sequence. ID numbers, phones and addresses are stored sealed
-- (SM4-GCM) with keyed digests for lookup and masked forms for views.

CREATE TABLE cases (
    case_id               UUID PRIMARY KEY,
    case_number           TEXT        NOT NULL UNIQUE,
    matter_code           TEXT        NOT NULL,
    matter_version        TEXT        NOT NULL,
    matter_name           TEXT        NOT NULL,
    mode                  TEXT        NOT NULL,
    scope                 TEXT        NOT NULL,
    status                TEXT        NOT NULL,
    window_office_id      TEXT        NOT NULL,
    responsible_office_id TEXT        NOT NULL,
    agreement_id          TEXT,
    applicant_name        TEXT        NOT NULL,
    id_number_sealed      BYTEA       NOT NULL,
    id_number_digest      TEXT        NOT NULL,
    id_number_masked      TEXT        NOT NULL,
    phone_sealed          BYTEA       NOT NULL,
    phone_digest          TEXT        NOT NULL,
    phone_masked          TEXT        NOT NULL,
    home_division         TEXT        NOT NULL,
    materials             JSONB       NOT NULL,
    delivery_method       TEXT        NOT NULL,
    delivery_address_sealed BYTEA,
    accepted_at           TIMESTAMPTZ NOT NULL,
    -- 承诺时限 budget in working days; the due moment is derived from it and the ledger below.
    budget_days           INTEGER     NOT NULL CHECK (budget_days > 0),
    -- Cached derivation of the ledger (NULL while the clock is stopped).
    due_at                TIMESTAMPTZ,
    decision              TEXT,
    decision_reason       TEXT,
    supplement_items      JSONB       NOT NULL DEFAULT '[]'::jsonb,
    supplement_reason     TEXT,
    traceparent           TEXT        NOT NULL,
    tracestate            TEXT,
    created_by            TEXT        NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX cases_window ON cases (window_office_id, accepted_at DESC);
CREATE INDEX cases_id_digest ON cases (id_number_digest);

-- 补正 and other suspensions of the clock.
CREATE TABLE case_suspensions (
    case_id   UUID        NOT NULL REFERENCES cases (case_id),
    seq       INTEGER     NOT NULL,
    kind      TEXT        NOT NULL,
    from_at   TIMESTAMPTZ NOT NULL,
    until_at  TIMESTAMPTZ,
    reason    TEXT        NOT NULL,
    PRIMARY KEY (case_id, seq)
);

CREATE TABLE case_timeline (
    id             BIGSERIAL PRIMARY KEY,
    case_id        UUID        NOT NULL REFERENCES cases (case_id),
    at             TIMESTAMPTZ NOT NULL,
    status         TEXT        NOT NULL,
    description    TEXT        NOT NULL,
    description_en TEXT        NOT NULL,
    office_id      TEXT        NOT NULL
);

CREATE INDEX case_timeline_case ON case_timeline (case_id, id);

CREATE TABLE idempotency_keys (
    window_office_id TEXT        NOT NULL,
    key              TEXT        NOT NULL,
    request_digest   TEXT        NOT NULL,
    case_id          UUID        NOT NULL REFERENCES cases (case_id),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (window_office_id, key)
);

CREATE TABLE case_number_sequences (
    window_division TEXT    NOT NULL,
    day             DATE    NOT NULL,
    last_value      INTEGER NOT NULL,
    PRIMARY KEY (window_division, day)
);
