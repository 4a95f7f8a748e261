-- Query vectors for the recall check: stored vectors, sampled reproducibly.
SELECT embedding FROM {vectors} ORDER BY md5(content_hash::text) LIMIT %(sample)s
