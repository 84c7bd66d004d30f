-- hotline (12345): the status read model built from every case event, its timeline, the audit of
-- every status lookup, complaints (投诉) and 好差评 ratings. No ID number or phone of an applicant
-- is held here: callers are verified against keyed digests bound to the case number.

CREATE TABLE case_status (
    case_id               UUID        PRIMARY KEY,
    case_number           TEXT        NOT NULL UNIQUE,
    matter_code           TEXT        NOT NULL,
    matter_name           TEXT        NOT NULL,
    scope                 TEXT        NOT NULL,
    mode                  TEXT        NOT NULL,
    window_office_id      TEXT        NOT NULL,
    responsible_office_id TEXT        NOT NULL,
    status                TEXT        NOT NULL,
    -- When the event that set `status` happened: a late redelivery never moves a case back.
    status_at             TIMESTAMPTZ NOT NULL,
    applicant_name_masked TEXT        NOT NULL,
    -- HMAC-SM3 (hex) of the last six characters of the ID number / last four phone digits,
    -- bound to the case number (tongban_runtime::verification).
    id_tail_digest        TEXT        NOT NULL,
    phone_tail_digest     TEXT        NOT NULL,
    accepted_at           TIMESTAMPTZ NOT NULL,
    -- NULL while the clock is stopped (补正).
    due_at                TIMESTAMPTZ,
    decision              TEXT,
    decision_reason       TEXT,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE case_timeline (
    id             BIGSERIAL   PRIMARY KEY,
    case_id        UUID        NOT NULL REFERENCES case_status (case_id),
    at             TIMESTAMPTZ NOT NULL,
    status         TEXT        NOT NULL,
    description    TEXT        NOT NULL,
    description_en TEXT        NOT NULL,
    office_id      TEXT        NOT NULL,
    event_id       UUID        NOT NULL UNIQUE
);

CREATE INDEX case_timeline_case ON case_timeline (case_id, at, id);

-- Every verification attempt (status query, complaint, rating), whatever its outcome.
CREATE TABLE status_lookups (
    id          BIGSERIAL   PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    operator    TEXT        NOT NULL,
    role        TEXT        NOT NULL,
    office_id   TEXT        NOT NULL,
    -- As typed (trimmed, at most 64 characters); the verification value is never stored.
    case_number TEXT        NOT NULL,
    result      TEXT        NOT NULL CHECK (result IN ('found', 'not_found', 'bad_input')),
    action      TEXT        NOT NULL DEFAULT 'status' CHECK (action IN ('status', 'complaint', 'rating'))
);

CREATE INDEX status_lookups_case ON status_lookups (case_number, at);

CREATE FUNCTION status_lookups_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'status_lookups is append-only';
END;
$$;

CREATE TRIGGER status_lookups_no_update BEFORE UPDATE OR DELETE ON status_lookups
    FOR EACH ROW EXECUTE FUNCTION status_lookups_is_append_only();

-- 投诉.
CREATE TABLE complaints (
    complaint_id        UUID        PRIMARY KEY,
    case_id             UUID        NOT NULL REFERENCES case_status (case_id),
    case_number         TEXT        NOT NULL,
    office_id           TEXT        NOT NULL,
    state               TEXT        NOT NULL,
    caller_name_masked  TEXT        NOT NULL,
    caller_name_sealed  BYTEA       NOT NULL,
    caller_phone_masked TEXT        NOT NULL,
    caller_phone_sealed BYTEA       NOT NULL,
    caller_phone_digest TEXT        NOT NULL,
    content             TEXT        NOT NULL,
    filed_by            TEXT        NOT NULL,
    filed_at            TIMESTAMPTZ NOT NULL
);

CREATE INDEX complaints_case ON complaints (case_id);

-- 好差评: one rating per case and occasion.
CREATE TABLE ratings (
    rating_id   UUID        PRIMARY KEY,
    case_id     UUID        NOT NULL REFERENCES case_status (case_id),
    case_number TEXT        NOT NULL,
    office_id   TEXT        NOT NULL,
    occasion    TEXT        NOT NULL,
    level       TEXT        NOT NULL,
    comment     TEXT        NOT NULL,
    scores      JSONB       NOT NULL,
    recorded_by TEXT        NOT NULL,
    rated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, occasion)
);

-- 整改: opened by a 不满意 / 非常不满意 rating.
CREATE TABLE rectifications (
    rectification_id UUID        PRIMARY KEY,
    rating_id        UUID        NOT NULL UNIQUE REFERENCES ratings (rating_id),
    case_id          UUID        NOT NULL,
    office_id        TEXT        NOT NULL,
    state            TEXT        NOT NULL DEFAULT 'open',
    opened_at        TIMESTAMPTZ NOT NULL
);
