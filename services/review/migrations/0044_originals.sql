-- 纸质原件: cases whose paper originals must reach the office before it may approve
-- (异地代收代办). Set from case.routed, cleared by logistics.tracked (delivered).
CREATE TABLE originals (
    case_id         UUID PRIMARY KEY,
    material_codes  JSONB NOT NULL DEFAULT '[]',
    outstanding     BOOLEAN NOT NULL,
    tracking_number TEXT,
    delivered_at    TIMESTAMPTZ
);
