-- The postings read whose documents pass the metadata filters (the filters are on r.document_id:
-- each posting carries its chunk's document, and only live chunks have postings).
WHERE TRUE {filters}
