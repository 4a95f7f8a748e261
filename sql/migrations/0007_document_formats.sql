-- Documents read by OCR, and files read better than before:
--  * document_pages.ocr: the page's text was recognised in its image (it had no text layer);
--  * documents.ocr_pages: how many of the document's pages were (NULL: not read yet, or failed).
ALTER TABLE document_pages ADD COLUMN ocr boolean NOT NULL DEFAULT false;
ALTER TABLE documents ADD COLUMN ocr_pages integer;

-- Failed documents may now be readable (scans by OCR, text in other encodings), and PDFs with
-- image-only or multi-column pages read differently: the next ingest of each collection reads them
-- again. Their chunks keep answering until the new ones are embedded, as with any change.
UPDATE documents SET content_hash = 'before-0007:' || content_hash
WHERE status = 'failed' OR lower(source_uri) LIKE '%.pdf';
