-- Documents chunked and waiting for their embeddings to be promoted.
SELECT count(*) AS n FROM documents WHERE collection_id = %(collection_id)s AND status = 'processing'
