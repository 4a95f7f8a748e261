SELECT content_hash FROM {vectors} WHERE collection_id = %(collection_id)s ORDER BY embedding <=> %(query)s LIMIT %(k)s
