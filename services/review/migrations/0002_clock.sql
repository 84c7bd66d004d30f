-- The office's say over the case clock (issue 5): extension days granted so far (延长, at most the
-- matter's allowance over the case) and the Art. 45 special procedure in progress, if any.
ALTER TABLE assignments
    ADD COLUMN extension_days   INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN clock_suspension TEXT;
