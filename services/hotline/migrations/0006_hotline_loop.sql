-- Issue 6: lockout of guessed verifications, the complaint loop's history, rectification due
-- dates and call-backs (回访).

-- A lookup refused because its case number is locked (its verification is not even checked).
ALTER TABLE status_lookups DROP CONSTRAINT status_lookups_result_check;
ALTER TABLE status_lookups ADD CONSTRAINT status_lookups_result_check
    CHECK (result IN ('found', 'not_found', 'bad_input', 'locked'));

CREATE INDEX status_lookups_failures ON status_lookups (case_number, at) WHERE result = 'not_found';

-- 核验锁定: five failed verifications for one case number within an hour lock it for an hour.
-- Keyed by the case number as typed, known or not, so a lock says nothing about existence.
CREATE TABLE verification_locks (
    case_number  TEXT        PRIMARY KEY,
    locked_at    TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ NOT NULL
);

-- 投诉 closed loop: 受理 → 转办 → 办理 → 回复 → 回访 → 办结.
ALTER TABLE complaints ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE complaints SET updated_at = filed_at;
ALTER TABLE complaints ALTER COLUMN updated_at SET NOT NULL;
CREATE INDEX complaints_office ON complaints (office_id, filed_at);

CREATE TABLE complaint_history (
    id              BIGSERIAL   PRIMARY KEY,
    complaint_id    UUID        NOT NULL REFERENCES complaints (complaint_id),
    from_state      TEXT,
    to_state        TEXT        NOT NULL,
    actor           TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    actor_office_id TEXT        NOT NULL,
    note            TEXT        NOT NULL,
    at              TIMESTAMPTZ NOT NULL
);

CREATE INDEX complaint_history_complaint ON complaint_history (complaint_id, id);

CREATE FUNCTION complaint_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'complaint_history is append-only';
END;
$$;

CREATE TRIGGER complaint_history_no_update BEFORE UPDATE OR DELETE ON complaint_history
    FOR EACH ROW EXECUTE FUNCTION complaint_history_is_append_only();

INSERT INTO complaint_history (complaint_id, from_state, to_state, actor, actor_role, actor_office_id, note, at)
    SELECT complaint_id, NULL, state, filed_by, 'hotline', '', '', filed_at FROM complaints;

-- 差评整改: due 15 working days after opening; 已整改 once a call-back (回访) confirms it.
ALTER TABLE rectifications ADD COLUMN due_at TIMESTAMPTZ;
UPDATE rectifications SET due_at = opened_at + INTERVAL '21 days';
ALTER TABLE rectifications ALTER COLUMN due_at SET NOT NULL;
ALTER TABLE rectifications ADD COLUMN rectified_at TIMESTAMPTZ;
ALTER TABLE rectifications ADD CONSTRAINT rectifications_state_check
    CHECK (state IN ('open', 'rectified'));
CREATE INDEX rectifications_office ON rectifications (office_id, opened_at);

CREATE TABLE rectification_callbacks (
    id               BIGSERIAL   PRIMARY KEY,
    rectification_id UUID        NOT NULL REFERENCES rectifications (rectification_id),
    satisfied        BOOLEAN     NOT NULL,
    note             TEXT        NOT NULL,
    recorded_by      TEXT        NOT NULL,
    at               TIMESTAMPTZ NOT NULL
);

CREATE INDEX rectification_callbacks_item ON rectification_callbacks (rectification_id, id);

-- 办结公示 reads completed cases by moment.
CREATE INDEX case_status_completed ON case_status (status_at) WHERE status = 'completed';
