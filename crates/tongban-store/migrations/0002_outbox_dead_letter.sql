-- 死信: an outbox row the relay cannot publish (too large for the server, refused by it) is
-- moved aside after a few tries so that the rows behind it flow on; an operator sees it here.

ALTER TABLE outbox
    ADD COLUMN attempts   INT  NOT NULL DEFAULT 0,
    ADD COLUMN last_error TEXT;

CREATE TABLE outbox_dead_letter (
    id          BIGINT      PRIMARY KEY,
    event_id    UUID        NOT NULL UNIQUE,
    subject     TEXT        NOT NULL,
    payload     BYTEA       NOT NULL,
    headers     JSONB       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    attempts    INT         NOT NULL,
    last_error  TEXT        NOT NULL,
    failed_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
