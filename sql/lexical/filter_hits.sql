WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.id = ranked.chunk_id AND NOT c.pending {filters})
