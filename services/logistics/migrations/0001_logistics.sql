-- 寄递: the cases logistics knows (from case.routed), waybills, carrier events and the chain of
-- custody (物料流转备案). Addresses of applicants are stored sealed only.
CREATE TABLE cases (
    case_id               UUID PRIMARY KEY,
    case_number           TEXT NOT NULL,
    matter_code           TEXT NOT NULL,
    mode                  TEXT NOT NULL,
    window_office_id      TEXT NOT NULL,
    responsible_office_id TEXT NOT NULL,
    home_division         TEXT NOT NULL,
    applicant_name_masked TEXT NOT NULL,
    phone_masked          TEXT NOT NULL,
    delivery_method       TEXT NOT NULL,
    address_sealed        BYTEA,
    traceparent           TEXT,
    routed_at             TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE waybill_serial START WITH 1000000001;

CREATE TABLE waybills (
    tracking_number TEXT PRIMARY KEY,
    case_id         UUID NOT NULL,
    case_number     TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    status          TEXT NOT NULL,
    furthest        TEXT NOT NULL,
    sender          JSONB NOT NULL,
    recipient       JSONB NOT NULL,
    recipient_address_sealed BYTEA,
    material_codes  JSONB NOT NULL,
    fee_fen         BIGINT NOT NULL,
    carrier         TEXT NOT NULL,
    -- Whether this waybill stopped the case clock (材料在途) and has not resumed it yet.
    clock_suspended BOOLEAN NOT NULL DEFAULT false,
    -- routed:<case id> / decided:<case id> for waybills made from events (made once).
    source          TEXT UNIQUE,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX waybills_case ON waybills (case_id);
CREATE INDEX waybills_open ON waybills (carrier, status);

CREATE TABLE tracking_events (
    carrier_event_id TEXT PRIMARY KEY,
    tracking_number  TEXT NOT NULL REFERENCES waybills (tracking_number),
    status           TEXT NOT NULL,
    location         TEXT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL,
    -- Whether it moved the waybill (false: a duplicate point or arriving late).
    applied          BOOLEAN NOT NULL
);
CREATE INDEX tracking_events_waybill ON tracking_events (tracking_number, occurred_at);

CREATE TABLE custody (
    id              BIGSERIAL PRIMARY KEY,
    tracking_number TEXT NOT NULL REFERENCES waybills (tracking_number),
    case_id         UUID NOT NULL,
    material_code   TEXT NOT NULL,
    from_party      TEXT NOT NULL,
    to_party        TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL
);
CREATE INDEX custody_waybill ON custody (tracking_number, id);
