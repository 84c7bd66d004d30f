-- Issue 7 (多地联办): a joint case is held up by whichever office has its part open, so a warning
-- or breach goes to that office rather than to the first part's (responsible) office.
-- `parts`: the parts of a joint case (JSON list of tongban_supervision::parts::TrackedPart: code,
-- name, office, state as PartState::as_str, the step that last moved it), in the matter's order,
-- from case.routed and kept current from case.part_updated, case.supplemented, case.withdrawn.
-- `breached_office_id`: the office the whole-case breach was raised against; the per-office
-- statistics count the case there (they follow the alerts), else at the responsible office.
ALTER TABLE case_clocks
    ADD COLUMN parts              JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN breached_office_id TEXT;

-- Cases breached before: their breach alert names the office.
UPDATE case_clocks c SET breached_office_id = a.office_id
FROM alerts a
WHERE a.case_id = c.case_id AND a.stage = '' AND a.kind = 'breach';
