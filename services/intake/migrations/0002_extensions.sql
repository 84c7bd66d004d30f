-- 延长 (行政许可法 Art. 42) approved by the responsible office's head: added to the case's budget.
CREATE TABLE case_extensions (
    case_id      UUID        NOT NULL REFERENCES cases (case_id),
    seq          INTEGER     NOT NULL,
    working_days INTEGER     NOT NULL CHECK (working_days BETWEEN 1 AND 10),
    reason       TEXT        NOT NULL,
    approved_by  TEXT        NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, seq)
);
