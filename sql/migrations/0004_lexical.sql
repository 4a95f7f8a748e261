-- True BM25 inside PostgreSQL: each chunk's lexemes (language-aware: stemmed, stop words removed,
-- with the collection's text search configuration) and its length in lexemes; per collection, the
-- number of live chunks, their average length and each lexeme's document frequency (for IDF).
ALTER TABLE collections ADD COLUMN language regconfig NOT NULL DEFAULT 'english';

ALTER TABLE chunks ADD COLUMN lexemes tsvector;
ALTER TABLE chunks ADD COLUMN lexeme_count integer NOT NULL DEFAULT 0;

CREATE FUNCTION chunks_set_lexemes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.lexemes := to_tsvector(
        coalesce((SELECT language FROM collections WHERE id = NEW.collection_id), 'english'::regconfig), NEW.text);
    NEW.lexeme_count := coalesce(
        (SELECT sum(coalesce(array_length(positions, 1), 1)) FROM unnest(NEW.lexemes)), 0);
    RETURN NEW;
END
$$;
CREATE TRIGGER chunks_lexemes BEFORE INSERT OR UPDATE OF text ON chunks
    FOR EACH ROW EXECUTE FUNCTION chunks_set_lexemes();

UPDATE chunks SET text = text;
CREATE INDEX chunks_lexemes ON chunks USING gin (lexemes);

CREATE TABLE lexical_stats (
    collection_id bigint PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
    chunks        integer NOT NULL,
    avg_length    double precision NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE lexical_terms (
    collection_id bigint NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    lexeme        text NOT NULL,
    df            integer NOT NULL,
    PRIMARY KEY (collection_id, lexeme)
);

-- Statistics for the chunks that exist already; from now on the pipeline keeps them current.
INSERT INTO lexical_terms (collection_id, lexeme, df)
SELECT c.collection_id, u.lexeme, count(*)
FROM chunks c CROSS JOIN LATERAL unnest(c.lexemes) AS u
WHERE NOT c.pending
GROUP BY c.collection_id, u.lexeme;
INSERT INTO lexical_stats (collection_id, chunks, avg_length)
SELECT collection_id, count(*), avg(lexeme_count)
FROM chunks
WHERE NOT pending
GROUP BY collection_id;
