-- From the COPY staging table into the model's table; a text embedded meanwhile by another
-- collection's run keeps its first vector.
INSERT INTO {vectors} (content_hash, embedding)
SELECT content_hash, embedding FROM incoming_vectors
ON CONFLICT (content_hash) DO NOTHING
