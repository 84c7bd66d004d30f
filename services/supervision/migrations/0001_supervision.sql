-- supervision (督办): the clock of every case (budget, ledger of suspensions and extensions, the
-- due moment of each stage and of the case), the alerts raised (each exactly once), the 13710
-- tickets with their milestones.

CREATE TABLE case_clocks (
    case_id               UUID        PRIMARY KEY,
    case_number           TEXT        NOT NULL,
    matter_code           TEXT        NOT NULL,
    scope                 TEXT        NOT NULL,
    mode                  TEXT        NOT NULL,
    window_office_id      TEXT        NOT NULL,
    responsible_office_id TEXT        NOT NULL,
    -- open, completed, withdrawn
    status                TEXT        NOT NULL DEFAULT 'open',
    accepted_at           TIMESTAMPTZ NOT NULL,
    -- The tracked clock (tongban_supervision::clock::Tracked): stages, ledger, deadlines.
    tracked               JSONB       NOT NULL,
    -- Due moment of the whole case; NULL while the clock is stopped.
    due_at                TIMESTAMPTZ,
    -- The earliest moment at which a warning or breach falls due: the evaluation loop reads
    -- this index only, never the whole table. NULL when nothing is pending (stopped, closed).
    next_check_at         TIMESTAMPTZ,
    case_breached         BOOLEAN     NOT NULL DEFAULT false,
    completed_at          TIMESTAMPTZ,
    -- Working days used (suspensions excluded), once completed.
    working_days          INTEGER,
    on_time               BOOLEAN,
    traceparent           TEXT,
    tracestate            TEXT,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX case_clocks_next_check ON case_clocks (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX case_clocks_accepted ON case_clocks (accepted_at);

-- One row per (case, stage, kind): the guarantee that a warning or a breach is raised once.
-- stage '' is the whole case.
CREATE TABLE alerts (
    alert_id    UUID        PRIMARY KEY,
    case_id     UUID        NOT NULL REFERENCES case_clocks (case_id),
    case_number TEXT        NOT NULL,
    kind        TEXT        NOT NULL CHECK (kind IN ('warning', 'breach')),
    stage       TEXT        NOT NULL,
    office_id   TEXT        NOT NULL,
    scope       TEXT        NOT NULL,
    -- 1 county, 2 city, 3 province
    level       SMALLINT    NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    raised_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (case_id, stage, kind)
);

CREATE INDEX alerts_office ON alerts (office_id, raised_at);

-- 督办 tickets (13710).
CREATE TABLE tickets (
    ticket_id   UUID        PRIMARY KEY,
    -- What opened it: breach:<case id> or complaint:<complaint id>; a redelivery opens nothing.
    source      TEXT        NOT NULL UNIQUE,
    case_id     UUID        NOT NULL,
    case_number TEXT        NOT NULL,
    office_id   TEXT        NOT NULL,
    -- open, acknowledged, reported, resolved, closed
    state       TEXT        NOT NULL,
    level       SMALLINT    NOT NULL,
    reason      TEXT        NOT NULL CHECK (reason IN ('breach', 'complaint')),
    opened_at   TIMESTAMPTZ NOT NULL,
    -- Earliest milestone neither done nor escalated yet (indexed for the evaluation loop).
    next_due_at TIMESTAMPTZ,
    traceparent TEXT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX tickets_next_due ON tickets (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX tickets_office ON tickets (office_id, opened_at);

CREATE TABLE ticket_milestones (
    ticket_id    UUID        NOT NULL REFERENCES tickets (ticket_id),
    seq          SMALLINT    NOT NULL,
    -- act, report, settle, close
    name         TEXT        NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    done_at      TIMESTAMPTZ,
    escalated_at TIMESTAMPTZ,
    PRIMARY KEY (ticket_id, seq)
);
