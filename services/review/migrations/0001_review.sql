-- review: the responsible office's inbox (assignments), claims, checklists and decisions.

CREATE TABLE assignments (
    case_id               UUID PRIMARY KEY,
    case_number           TEXT        NOT NULL UNIQUE,
    office_id             TEXT        NOT NULL,
    matter_code           TEXT        NOT NULL,
    matter_name           TEXT        NOT NULL,
    scope                 TEXT        NOT NULL,
    mode                  TEXT        NOT NULL,
    -- routed, claimed, supplement_requested, supplemented, decided, withdrawn
    state                 TEXT        NOT NULL,
    -- The case's status as review last knew it (approved/denied/completed…).
    case_status           TEXT        NOT NULL,
    window_office_id      TEXT        NOT NULL,
    applicant             JSONB       NOT NULL,
    home_division         TEXT        NOT NULL,
    materials             JSONB       NOT NULL,
    routed_at             TIMESTAMPTZ NOT NULL,
    due_at                TIMESTAMPTZ,
    claimed_by            TEXT,
    claimed_at            TIMESTAMPTZ,
    decision              TEXT,
    decision_reason       TEXT,
    checklist             JSONB       NOT NULL DEFAULT '[]'::jsonb,
    decided_at            TIMESTAMPTZ,
    supplement_items      JSONB       NOT NULL DEFAULT '[]'::jsonb,
    supplement_reason     TEXT,
    traceparent           TEXT,
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX assignments_office_state ON assignments (office_id, state, routed_at);

-- Watchers learn of every change to an assignment.
CREATE FUNCTION assignments_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('tongban_review_assignments', NEW.case_id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER assignments_changed AFTER INSERT OR UPDATE ON assignments
    FOR EACH ROW EXECUTE FUNCTION assignments_notify();
