-- What the source files looked like when this ingest read them (the sensor compares against it).
UPDATE collections SET files_fingerprint = %(fingerprint)s WHERE id = %(collection_id)s
