-- 消费死信: a delivery a consumer could not apply — rejected by its handler, undecodable, or
-- still failing on its last allowed delivery (max_deliver) — is recorded here in the consuming
-- service's schema, so that an operator sees it and can replay it (OperationsService).
-- The payload is the encoded event exactly as the stream carried it: the service already holds
-- it, and events carry no unmasked personal data.

CREATE TABLE consumer_dead_letter (
    id            BIGSERIAL   PRIMARY KEY,
    -- Durable consumer name, e.g. "review-case-events" (also the inbox's consumer label).
    consumer      TEXT        NOT NULL,
    -- Sequence of the message in the main stream: with the consumer, what the server's
    -- advisories name, so the consumer's own record and the advisory meet on one row.
    stream_seq    BIGINT      NOT NULL,
    -- Subject below the configured root, e.g. "case.routed".
    subject       TEXT        NOT NULL,
    -- NULL when the payload is no event (undecodable).
    event_id      UUID,
    case_number   TEXT,
    payload       BYTEA       NOT NULL,
    -- Why: the handler's rejection, the last transient error, or the server's advisory.
    reason        TEXT        NOT NULL,
    -- "rejected", "undecodable", "max_deliveries" or "terminated" (seen only in an advisory).
    kind          TEXT        NOT NULL,
    deliveries    BIGINT      NOT NULL,
    dead_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set when the server's advisory about this message has been seen.
    advised_at    TIMESTAMPTZ,
    -- Set once an operator replayed it, with what came of it.
    replayed_at   TIMESTAMPTZ,
    replay_result TEXT,
    UNIQUE (consumer, stream_seq)
);

CREATE INDEX consumer_dead_letter_open ON consumer_dead_letter (consumer, id)
    WHERE replayed_at IS NULL;
