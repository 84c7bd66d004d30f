-- Results as certificates (电子证照): the identifier of the result certificate a case completed
-- with (case.completed's certificate_identifier). The identifier holds no personal data.
ALTER TABLE case_status ADD COLUMN result_certificate_identifier TEXT;
