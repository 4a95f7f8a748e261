SELECT format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = %(table)s::regclass AND a.attname = 'embedding'
