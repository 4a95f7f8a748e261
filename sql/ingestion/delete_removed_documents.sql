-- Documents whose source is gone; their pages, chunks (and so their search hits) go with them.
-- An anti-join on the listed sources: `NOT (source_uri = ANY(seen))` compared every document with
-- every listed source, 10^10 comparisons for a collection of 100k documents.
DELETE FROM documents d
WHERE d.collection_id = %(collection_id)s
  AND NOT EXISTS (SELECT 1 FROM unnest(%(seen)s::text[]) AS seen(source_uri) WHERE seen.source_uri = d.source_uri)
RETURNING id
