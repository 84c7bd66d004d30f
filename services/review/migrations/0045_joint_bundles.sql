-- 多地联办 (issue 7): a joint case has one assignment per part, each in its own office's inbox,
-- so an assignment is keyed by (case_id, office_id). 一件事: member cases carry their bundle.

ALTER TABLE assignments DROP CONSTRAINT assignments_pkey;
ALTER TABLE assignments ADD PRIMARY KEY (case_id, office_id);
ALTER TABLE assignments DROP CONSTRAINT assignments_case_number_key;
ALTER TABLE assignments
    ADD CONSTRAINT assignments_case_number_office_key UNIQUE (case_number, office_id);

ALTER TABLE assignments
    -- The part this office handles; empty for a case handled by one office.
    ADD COLUMN part_code          TEXT  NOT NULL DEFAULT '',
    ADD COLUMN part_name          TEXT  NOT NULL DEFAULT '',
    -- PartState name (waiting, routed, …, cancelled); NULL for a case handled by one office.
    ADD COLUMN part_state         TEXT,
    -- Position of the part in the matter's order (0 = the lead part, whose office issues the
    -- result).
    ADD COLUMN part_seq           INTEGER NOT NULL DEFAULT 0,
    -- Codes of the parts that must be approved before this one starts.
    ADD COLUMN part_after         JSONB NOT NULL DEFAULT '[]',
    -- 审查要点 codes this part answers.
    ADD COLUMN part_review_points JSONB NOT NULL DEFAULT '[]',
    -- The rest of the part's route as intake sent it (name_en, department, locality, division,
    -- scope, agreement_id), carried in case.part_updated.
    ADD COLUMN part_route         JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN bundle_id          UUID,
    ADD COLUMN bundle_number      TEXT,
    ADD COLUMN bundle_code        TEXT,
    ADD COLUMN bundle_name        TEXT;

CREATE INDEX assignments_bundle ON assignments (bundle_id) WHERE bundle_id IS NOT NULL;
