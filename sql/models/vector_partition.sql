-- The collection's partition of the model's vectors, created on first use (sql/migrations/0005_scale.sql).
SELECT llamapg_vector_partition(%(model_id)s, %(collection_id)s) AS partition
