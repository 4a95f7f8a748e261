INSERT INTO query_log (endpoint, question, collection, model, prompt, mode, filters, chunk_ids, similarities, timings_ms, answer)
VALUES (%(endpoint)s, %(question)s, %(collection)s, %(model)s, %(prompt)s, %(mode)s, %(filters)s,
        %(chunk_ids)s, %(similarities)s, %(timings_ms)s, %(answer)s)
RETURNING id
