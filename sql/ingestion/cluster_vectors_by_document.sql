-- The collection's vectors by document rewritten in document order, after a backfill's first load.
SELECT llamapg_cluster_vectors_by_document(%(model_id)s, %(collection_id)s)
