-- 一件事 (issue 7): every member case of the bundles review has heard of, routed or not. A
-- member that waits for another member's result is only submitted for a while (and may be
-- withdrawn without ever reaching an office), so the bundle status an office sees cannot come
-- from the assignments alone. Fed from the case events (case.submitted onwards) and from
-- review's own claims and decisions, in the transaction that makes them.

CREATE TABLE bundle_members (
    bundle_id   UUID        NOT NULL,
    case_id     UUID        PRIMARY KEY,
    case_number TEXT        NOT NULL,
    matter_code TEXT        NOT NULL,
    matter_name TEXT        NOT NULL,
    -- CaseStatus name of the member case as a whole.
    status      TEXT        NOT NULL,
    -- approve / deny once decided (kept after 办结, so a completed denial still counts as one).
    decision    TEXT,
    -- Position of the member's matter in the bundle's definition when it was submitted.
    position    INTEGER     NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX bundle_members_bundle ON bundle_members (bundle_id, position);

-- The members review already holds an assignment of (a 多地联办 member's lead row speaks for
-- the case). Their definition order is not known here: they keep the order they were routed in.
INSERT INTO bundle_members (bundle_id, case_id, case_number, matter_code, matter_name, status,
                            decision, position)
SELECT bundle_id, case_id, case_number, matter_code, matter_name, case_status, decision,
       (ROW_NUMBER() OVER (PARTITION BY bundle_id ORDER BY routed_at, case_number))::INTEGER - 1
FROM (
    SELECT DISTINCT ON (a.case_id) a.bundle_id, a.case_id, a.case_number, a.matter_code,
           a.matter_name, a.case_status, a.routed_at,
           -- The case's decision: any part's denial, else the lead's approval, once decided.
           CASE
               WHEN a.case_status NOT IN ('approved', 'denied', 'completed') THEN NULL
               WHEN EXISTS (SELECT 1 FROM assignments d
                            WHERE d.case_id = a.case_id AND d.decision = 'deny') THEN 'deny'
               ELSE a.decision
           END AS decision
    FROM assignments a
    WHERE a.bundle_id IS NOT NULL
    ORDER BY a.case_id, a.part_seq, a.office_id
) AS lead;

-- Watchers of an office re-read its rows of a bundle when any member changes, including a
-- member that never reached an office (same channel and payload as the assignments trigger, so
-- a transaction touching both notifies once).
CREATE FUNCTION bundle_members_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.status IS NOT DISTINCT FROM NEW.status
        AND OLD.decision IS NOT DISTINCT FROM NEW.decision THEN
        RETURN NEW;
    END IF;
    PERFORM pg_notify('tongban_review_assignments', NEW.case_id::text);
    RETURN NEW;
END;
$$;

CREATE TRIGGER bundle_members_changed AFTER INSERT OR UPDATE ON bundle_members
    FOR EACH ROW EXECUTE FUNCTION bundle_members_notify();
