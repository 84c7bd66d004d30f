-- Results as certificates (电子证照): the certificate the responsible office issued on approval,
-- with its compact token sealed (it holds the holder's ID number), for e_certificate delivery.
ALTER TABLE cases
    ADD COLUMN result_certificate_identifier   TEXT,
    ADD COLUMN result_certificate_token_sealed BYTEA;
