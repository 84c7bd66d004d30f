-- 纸质原件送达本机关: the paper originals count as delivered only when a waybill reached the
-- case's responsible office (the lead office of a 多地联办 case) carrying those materials. The
-- codes expected and the office they must reach are kept with the case; every delivered
-- originals waybill is kept, so the two events may arrive in either order. `material_codes`
-- now holds the codes still outstanding.
ALTER TABLE originals ADD COLUMN expected JSONB, ADD COLUMN office_id TEXT;
-- Cases still waiting: what they wait for is what they expect (their office is read from the
-- assignments when it is needed). Cases cleared before this migration stay cleared.
UPDATE originals SET expected = material_codes WHERE outstanding;

CREATE TABLE original_deliveries (
    tracking_number     TEXT PRIMARY KEY,
    case_id             UUID NOT NULL,
    recipient_office_id TEXT NOT NULL,
    material_codes      JSONB NOT NULL,
    delivered_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX original_deliveries_case ON original_deliveries (case_id);
