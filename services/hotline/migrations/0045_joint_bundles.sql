-- Issue 7: 多地联办 and 一件事一次办 in the status read model.
-- `parts`: the parts of a joint case (JSON list of hotline::parts::StoredPart: office, scope,
-- state as PartState::as_str, decision, reason, updated_at), from the submitted summary and
-- kept current from case.part_updated. The bundle columns link the member cases of a 一件事;
-- the bundle's status is derived from them when asked for.
ALTER TABLE case_status
    ADD COLUMN parts                JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN destination_division TEXT  NOT NULL DEFAULT '',
    ADD COLUMN bundle_id            TEXT,
    ADD COLUMN bundle_number        TEXT,
    ADD COLUMN bundle_code          TEXT,
    ADD COLUMN bundle_name          TEXT;

CREATE INDEX case_status_bundle ON case_status (bundle_id) WHERE bundle_id IS NOT NULL;
