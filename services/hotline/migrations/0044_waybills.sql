-- 寄递: where each waybill of a case is, from logistics.tracked (no addresses).
CREATE TABLE waybills (
    tracking_number TEXT PRIMARY KEY,
    case_id UUID NOT NULL,
    purpose TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX waybills_case ON waybills (case_id);
