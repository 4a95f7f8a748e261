-- The exact plan reaches a filter's matching chunks through their documents, then each chunk's
-- vector by content hash. Reading the chunks themselves for that (about 1 KB each, with their text)
-- cost 5 ms of a 28 ms search at 1M chunks over 10,000 matches; at 100k the planner scanned every
-- chunk of the collection instead and took 32 ms for 10,000. With the columns the plan needs in one
-- index, it reads them index-only: 22 ms and 12 ms (docs/performance.md).
CREATE INDEX chunks_live_by_document ON chunks (document_id) INCLUDE (collection_id, content_hash, id)
    WHERE NOT pending;
