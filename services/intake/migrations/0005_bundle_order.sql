-- 一件事 members that need another member's result (bundle member order).
--
-- A member whose materials include what another member of its bundle issues (the 出生医学证明
-- for 出生登记) is submitted with the bundle but accepted and routed only once every member it
-- waits for is approved. Until then it has no acceptance moment and no due moment; it
-- remembers the members (matter codes) it waits for. `submitted_at` orders a window's list
-- whether or not a case has been accepted yet.

ALTER TABLE cases
    ALTER COLUMN accepted_at DROP NOT NULL,
    ADD COLUMN submitted_at TIMESTAMPTZ,
    ADD COLUMN waits_for    TEXT[] NOT NULL DEFAULT '{}';

UPDATE cases SET submitted_at = accepted_at;

ALTER TABLE cases
    ALTER COLUMN submitted_at SET NOT NULL,
    -- Only a case still submitted (or withdrawn while it was) lacks an acceptance moment.
    ADD CONSTRAINT cases_accepted CHECK (accepted_at IS NOT NULL OR status IN ('submitted', 'withdrawn')),
    -- Only a bundle member waits for other members.
    ADD CONSTRAINT cases_waits_for CHECK (cardinality(waits_for) = 0 OR bundle_id IS NOT NULL);

DROP INDEX cases_window;
CREATE INDEX cases_window ON cases (window_office_id, submitted_at DESC);
-- The members of a bundle still waiting for others.
CREATE INDEX cases_waiting ON cases (bundle_id) WHERE status = 'submitted' AND cardinality(waits_for) > 0;
