-- The moment a rotated-out key stopped signing (密钥轮换): it refuses certificates that claim a
-- later issue time. NULL for current keys and for keys retired before this column existed.
ALTER TABLE trust_issuers ADD COLUMN retired_at TIMESTAMPTZ;
