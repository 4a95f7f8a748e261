-- Chunks of the collection with no vector yet for this model: each distinct input (header and
-- text, see content_hash) is embedded once. Ordered by length, so that each batch pads its texts
-- to similar lengths (ordered by hash, short and full-length chunks mixed in every batch and cost
-- 1.56x the encode time on SciFact).
SELECT content_hash, header, text, token_count
FROM (
    SELECT DISTINCT ON (c.content_hash) c.content_hash, c.header, c.text, c.token_count
    FROM chunks c
    WHERE c.collection_id = %(collection_id)s
      AND NOT EXISTS (SELECT 1 FROM {vectors} v
                      WHERE v.collection_id = c.collection_id AND v.content_hash = c.content_hash)
    ORDER BY c.content_hash
) todo
ORDER BY token_count, content_hash
