-- Chunks that carry their context (title and heading path) apart from their own text, and what
-- the source files sensor needs to know about a collection's last ingest:
--  * document_pages.headings: the section headings found on each page by its reader
--    ([[start, end, level, title], ...], offsets into the page's text);
--  * chunks.headings: the heading path of the chunk's section; chunks.header: what is embedded and
--    indexed for BM25 before the chunk's text (the title and heading path; '' when turned off);
--  * collections.context_headers: on by default, a collection can turn its headers off.
ALTER TABLE document_pages ADD COLUMN headings jsonb;
ALTER TABLE chunks ADD COLUMN headings text[] NOT NULL DEFAULT '{}';
ALTER TABLE chunks ADD COLUMN header text NOT NULL DEFAULT '';
ALTER TABLE collections ADD COLUMN context_headers boolean NOT NULL DEFAULT true;
-- The source files as the last ingest of the collection saw them (names, sizes, times): the sensor
-- asks for a run only when they differ, so a fresh start does not re-ingest what is there.
ALTER TABLE collections ADD COLUMN files_fingerprint text;

-- BM25 indexes the header with the text.
CREATE OR REPLACE FUNCTION chunks_set_lexemes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.lexemes := to_tsvector(
        coalesce((SELECT language FROM collections WHERE id = NEW.collection_id), 'english'::regconfig),
        NEW.header || E'\n\n' || NEW.text);
    NEW.lexeme_count := coalesce(
        (SELECT sum(coalesce(array_length(positions, 1), 1)) FROM unnest(NEW.lexemes)), 0);
    RETURN NEW;
END
$$;
DROP TRIGGER chunks_lexemes ON chunks;
CREATE TRIGGER chunks_lexemes BEFORE INSERT OR UPDATE OF text, header ON chunks
    FOR EACH ROW EXECUTE FUNCTION chunks_set_lexemes();

-- Documents read before this version have neither headings nor (for dataset rows) a body apart
-- from their title: the next ingest of each collection reads them again. Their chunks keep
-- answering until the new ones are embedded, as with any change.
UPDATE documents SET content_hash = 'before-0006:' || content_hash;
