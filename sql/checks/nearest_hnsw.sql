SELECT content_hash FROM {vectors} ORDER BY embedding <=> %(query)s LIMIT %(k)s
