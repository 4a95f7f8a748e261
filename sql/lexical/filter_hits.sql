WHERE EXISTS (SELECT 1 FROM chunks c WHERE c.id = r.chunk_id AND NOT c.pending {filters})
