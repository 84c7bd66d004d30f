-- Results as certificates (电子证照): what the certificate service keeps of each routed case to
-- issue its result certificate on approval. The holder (name + ID number) stays sealed exactly as
-- intake sealed it (SM4-GCM, bound to the case id).
CREATE TABLE case_holders (
    case_id               UUID        PRIMARY KEY,
    case_number           TEXT        NOT NULL,
    matter_code           TEXT        NOT NULL,
    matter_name           TEXT        NOT NULL,
    responsible_office_id TEXT        NOT NULL,
    delivery_method       TEXT        NOT NULL,
    holder_sealed         BYTEA       NOT NULL,
    routed_at             TIMESTAMPTZ NOT NULL
);
