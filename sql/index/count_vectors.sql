SELECT count(*) AS count FROM {vectors}
