-- A batch of documents chunked with these settings: their new chunks wait as `pending`.
UPDATE documents d
SET chunked_as = batch.chunked_as, status = 'processing', updated_at = now()
FROM unnest(%(ids)s::bigint[], %(chunked_as)s::text[]) AS batch(id, chunked_as)
WHERE d.id = batch.id
