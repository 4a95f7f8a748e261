"""Document readers and the token-counted chunker, on real files and the real tokenizer."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assets.ingestion.chunking import Chunker, ChunkingConfigError, check_chunk_size
from assets.ingestion.readers import DocumentError, Page, scan
from llamapg.embedders.local import load_tokenizer
from tests.conftest import FIXTURES, SHARED_DATA


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def test_scan_reads_each_format(tmp_path):
    documents = {d.source_uri: d for d in scan(FIXTURES / "docs")}
    assert set(documents) == {"crazy-ones.pdf", "lighthouses.txt", "postgres-vacuum.md", "sourdough.html"}
    assert documents["postgres-vacuum.md"].load()[0].text.startswith("# Vacuum")
    assert documents["postgres-vacuum.md"].title == "Vacuum in PostgreSQL"
    pdf_pages = documents["crazy-ones.pdf"].load()
    assert [p.number for p in pdf_pages] == [1]


def test_datasets_give_one_document_per_row(tmp_path):
    rows = [{"_id": "d1", "title": "Aspirin", "text": "Aspirin thins the blood.", "metadata": {"year": 1999}},
            {"_id": "d2", "title": "", "text": "Statins lower cholesterol.", "metadata": {}}]
    (tmp_path / "corpus.jsonl").write_text("\r\n".join(json.dumps(row) for row in rows) + "\r\n")
    pq.write_table(pa.Table.from_pylist([{"id": 7, "content": "Parquet row text."}]), tmp_path / "extra.parquet")
    documents = {d.source_uri: d for d in scan(tmp_path)}
    assert set(documents) == {"corpus.jsonl#d1", "corpus.jsonl#d2", "extra.parquet#7"}
    # The title is the document's, not part of its text (chunks carry it in their header).
    assert documents["corpus.jsonl#d1"].load()[0].text == "Aspirin thins the blood."
    assert documents["corpus.jsonl#d1"].title == "Aspirin"
    assert documents["corpus.jsonl#d1"].metadata["metadata"] == {"year": 1999}
    assert documents["corpus.jsonl#d2"].title == "d2"
    assert documents["extra.parquet#7"].load()[0].text == "Parquet row text."


def test_unreadable_dataset_fails_as_one_document(tmp_path):
    (tmp_path / "broken.jsonl").write_text('{"text": "ok"}\n{not json\n')
    (document,) = list(scan(tmp_path))
    with pytest.raises(DocumentError, match="unreadable dataset file"):
        document.load()


def test_every_broken_pdf_is_a_document_error_or_readable_text():
    for document in scan(SHARED_DATA / "pdfs-bad"):
        if not document.source_uri.endswith(".pdf"):
            continue
        try:
            pages = document.load()
        except DocumentError as exc:
            assert str(exc) and "Traceback" not in str(exc)
        else:
            assert any(page.text.strip() for page in pages), document.source_uri


def test_chunks_fit_the_model_window_and_point_at_their_text(tokenizer):
    pdf = next(d for d in scan(SHARED_DATA / "pdfs") if d.source_uri == "dmca-copyright-office-18p-ownerpw.pdf")
    pages = pdf.load()
    chunker = Chunker(tokenizer, chunk_size=256, chunk_overlap=32, tokenizer_name="minilm")
    chunks = chunker.split(pages)
    text = "\n\n".join(page.text for page in pages)
    assert len(chunks) > 18
    for chunk in chunks:
        assert chunk.token_count <= 256
        assert text[chunk.char_start:chunk.char_end] == chunk.text
        assert 1 <= chunk.page <= chunk.page_end <= 18
    assert {chunk.page for chunk in chunks} == set(range(1, 19))
    # Neighbouring chunks overlap: the start of one repeats the end of the one before.
    overlapping = sum(b.char_start < a.char_end for a, b in zip(chunks, chunks[1:]))
    assert overlapping > len(chunks) // 2


def test_page_of_a_chunk_is_the_page_it_starts_on(tokenizer):
    pages = [Page(1, "alpha " * 300), Page(2, "omega " * 300)]
    chunks = Chunker(tokenizer, 64, 8, "minilm").split(pages)
    assert chunks[0].page == 1 and chunks[-1].page == 2
    assert all(c.page <= c.page_end for c in chunks)
    (spanning,) = Chunker(tokenizer, 64, 8, "minilm").split([Page(4, "short page four."), Page(5, "page five.")])
    assert (spanning.page, spanning.page_end) == (4, 5)


def test_chunk_size_must_fit_every_model():
    check_chunk_size(256, 32, {"all-minilm-l6-v2": 256, "big": 8191})
    with pytest.raises(ChunkingConfigError, match="all-minilm-l6-v2 reads at most 256 tokens"):
        check_chunk_size(300, 32, {"all-minilm-l6-v2": 256})
    with pytest.raises(ChunkingConfigError, match="overlap"):
        check_chunk_size(64, 64, {})


def test_a_batch_is_chunked_exactly_as_langchains_huggingface_splitter(tokenizer):
    """The batch path (token counts from the tokenizer's fast core in one call, a cached length for
    the splitter, a document that fits taken whole) gives langchain's own chunks and counts, for
    texts that fit, nearly fit and do not fit."""
    chunker = Chunker(tokenizer, 64, 8, "minilm")
    reference = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer, chunk_size=62, chunk_overlap=8)
    documents = [
        [Page(None, "A short note.")],
        [Page(None, "\n\n  Title\n\n\n\nBody after   blank lines, tabs\tand spaces.  \n")],
        [Page(1, "page one text."), Page(2, "page two text.")],
        [Page(None, "word " * 62)],  # 62 tokens + 2 special: fits exactly in 64
        [Page(None, "word " * 63)],  # one too many: split
        [Page(None, "alpha beta gamma. " * 80)],
        [Page(None, "Paragraph one is here.\n\nParagraph two, longer: " + "lorem ipsum dolor " * 40)],
        [Page(None, "   \n\n  ")],  # nothing to chunk
        [Page(None, "Ünïcödé — “quotes” and émojis 🎉 in a line. " * 12)],
    ]
    chunked = chunker.split_many(documents)
    for pages, chunks in zip(documents, chunked):
        text = "\n\n".join(page.text for page in pages)
        expected = reference.split_text(text)
        assert [chunk.text for chunk in chunks] == expected
        expected_counts = ([len(ids) for ids in tokenizer(expected, add_special_tokens=True)["input_ids"]]
                           if expected else [])
        assert [chunk.token_count for chunk in chunks] == expected_counts
        assert all(chunk.token_count <= 64 for chunk in chunks)
