-- From the COPY staging table into the collection's partition of the model's vectors; a text
-- embedded meanwhile by another run keeps its first vector.
INSERT INTO {vectors} (collection_id, content_hash, embedding)
SELECT %(collection_id)s, content_hash, embedding FROM incoming_vectors
ON CONFLICT (collection_id, content_hash) DO NOTHING
