-- A 不满意 or 非常不满意 rating (which opened a rectification item) also puts the office under 督办.
ALTER TABLE tickets DROP CONSTRAINT tickets_reason_check;
ALTER TABLE tickets ADD CONSTRAINT tickets_reason_check CHECK (reason IN ('breach', 'complaint', 'bad_rating'));
