-- Live chunks of the collection, kept current by the chunks triggers (sql/migrations/0005_scale.sql).
SELECT coalesce((SELECT chunks FROM lexical_stats WHERE collection_id = %(collection_id)s), 0) AS chunks
