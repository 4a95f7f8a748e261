-- CONCURRENTLY: queries and writes go on while the index builds.
-- vector_cosine_ops matches the retrieval queries' `<=>`; any other operator would not use it.
CREATE INDEX CONCURRENTLY {index} ON {vectors}
USING hnsw (embedding vector_cosine_ops)
WITH (m = {m}, ef_construction = {ef_construction})
