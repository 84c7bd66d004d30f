-- 多地联办 and 一件事一次办 (issue 7).
--
-- A joint case keeps its parts (one per responsible office, with each part's state as the
-- review offices report it) and the applicant's destination locality (迁入地, 转入地).
-- A bundle (一件事) is one submission that opened several linked cases; it is idempotent on
-- (window_office_id, idempotency_key) like a single case, and its number comes from the same
-- daily sequence as case numbers.

CREATE TABLE bundles (
    bundle_id        UUID PRIMARY KEY,
    bundle_number    TEXT        NOT NULL UNIQUE,
    bundle_code      TEXT        NOT NULL,
    bundle_name      TEXT        NOT NULL,
    window_office_id TEXT        NOT NULL,
    submitted_at     TIMESTAMPTZ NOT NULL,
    idempotency_key  TEXT        NOT NULL,
    request_digest   TEXT        NOT NULL,
    created_by       TEXT        NOT NULL,
    UNIQUE (window_office_id, idempotency_key)
);

ALTER TABLE cases
    ADD COLUMN parts                JSONB   NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN destination_division TEXT,
    ADD COLUMN bundle_id            UUID REFERENCES bundles (bundle_id),
    -- The member's place in its bundle (the bundle's matter order).
    ADD COLUMN bundle_position      INTEGER,
    ADD CONSTRAINT cases_bundle_position CHECK ((bundle_id IS NULL) = (bundle_position IS NULL));

CREATE INDEX cases_bundle ON cases (bundle_id, bundle_position) WHERE bundle_id IS NOT NULL;
