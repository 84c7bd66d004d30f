-- Raw e-certificate tokens carry the holder's full ID number. Cases stored before 补正 material
-- was verified (issue 13) may hold one among their materials: drop it, keep the rest (a
-- verified certificate is kept by its identifier and type).
UPDATE cases
SET materials = (
    SELECT jsonb_agg(m - 'certificate_token' ORDER BY i)
    FROM jsonb_array_elements(materials) WITH ORDINALITY AS e(m, i)
)
WHERE jsonb_typeof(materials) = 'array'
  AND jsonb_array_length(materials) > 0
  AND jsonb_path_exists(materials, '$[*].certificate_token');
