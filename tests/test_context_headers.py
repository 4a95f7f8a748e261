"""Chunks that carry their context: the title and heading path as a header, embedded and indexed
with the chunk, never split into a chunk of its own, counted in the chunk's token budget."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from assets.ingestion.chunking import Chunker, embedding_input
from assets.ingestion.readers import Page, ReadOptions, read_html, read_markdown, scan
from llamapg import collections
from llamapg.embedders.local import load_tokenizer
from llamapg.headers import context_header
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client
from tests.conftest import SHARED_DATA
from tests.support.pipeline import materialize_collection
from tests.support.readers import read

ABSTRACT = " ".join(
    f"Sentence {n} of the abstract reports a measured effect of the treatment on outcome {n}." for n in range(40))
TITLE = "Vitamin D supplementation and fracture risk in older adults: a randomised trial"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def input_tokens(tokenizer, chunk) -> int:
    return len(tokenizer(embedding_input(chunk.header, chunk.text), add_special_tokens=True)["input_ids"])


def is_header_only(chunk, title: str | None) -> bool:
    """A chunk whose own text says nothing its title or headings do not."""
    words = " ".join(chunk.text.lstrip("#").split()).casefold()
    return not words or words in {" ".join((t or "").split()).casefold() for t in (title, *chunk.headings)}


def test_a_title_is_never_a_chunk_and_header_and_text_fit_the_window(tokenizer):
    chunks = Chunker(tokenizer, 256, 32, "minilm").split([Page(None, ABSTRACT)], title=TITLE)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.header == TITLE
        assert TITLE not in chunk.text and not is_header_only(chunk, TITLE)
        # The stored count is what the model reads: header, blank line, text and special tokens.
        assert chunk.token_count == input_tokens(tokenizer, chunk) <= 256
    # Every sentence of the text is in some chunk.
    assert all(f"Sentence {n} " in " ".join(c.text for c in chunks) for n in range(40))


def test_markdown_sections_give_each_chunk_its_heading_path(tokenizer):
    text = (
        "# Employee handbook\n\nWelcome to the company.\n\n"
        "## Leave\n\n### Parental leave\n\nParents take sixteen weeks of paid leave.\n\n"
        "### Sick leave\n\nSick days need no certificate for three days.\n\n"
        "```\n# a comment in code, not a heading\n```\n\n"
        "## Expenses\n\nReceipts are filed within thirty days.\n"
    )
    extracted = read(read_markdown, text.encode())
    pages, title = extracted.pages, extracted.title
    chunks = Chunker(tokenizer, 256, 32, "minilm").split(pages, title=title)
    by_text = {chunk.text.split("\n")[0]: chunk for chunk in chunks}
    assert by_text["Parents take sixteen weeks of paid leave."].headings == (
        "Employee handbook", "Leave", "Parental leave")
    assert by_text["Parents take sixteen weeks of paid leave."].header == "Employee handbook > Leave > Parental leave"
    assert by_text["Sick days need no certificate for three days."].headings[-1] == "Sick leave"
    assert "# a comment in code" in by_text["Sick days need no certificate for three days."].text
    assert by_text["Receipts are filed within thirty days."].header == "Employee handbook > Expenses"
    # "## Leave" has no text of its own before "### Parental leave": no chunk for it.
    assert not any(is_header_only(chunk, title) for chunk in chunks)
    assert all(not chunk.text.startswith("#") for chunk in chunks)
    for chunk in chunks:
        assert text[chunk.char_start:chunk.char_end] == chunk.text


def test_html_headings_and_a_pdf_outline_become_heading_paths(tokenizer):
    extracted = read(read_html,
        b"<html><head><title>Bread</title></head><body><h1>Bread</h1><h2>Sourdough <em>starter</em></h2>"
        b"<p>Feed the starter with flour and water.</p><!-- not text --></body></html>")
    (chunk,) = Chunker(tokenizer, 256, 32, "minilm").split(extracted.pages, title=extracted.title)
    assert chunk.text == "Feed the starter with flour and water."
    assert chunk.headings == ("Bread", "Sourdough starter") and chunk.header == "Bread > Sourdough starter"

    pdf = next(d for d in scan(SHARED_DATA / "pdfs") if d.source_uri == "pdflatex-with-outline-4p.pdf")
    pdf_pages = pdf.load()
    assert sum(len(page.headings) for page in pdf_pages) >= 5
    chunks = Chunker(tokenizer, 256, 32, "minilm").split(pdf_pages, title=pdf.title)
    assert {chunk.headings for chunk in chunks if chunk.headings} and all(
        chunk.header.startswith(pdf.title) for chunk in chunks)


def test_a_long_header_is_cut_to_a_quarter_of_the_window(tokenizer):
    title = "A very long title " * 60
    (chunk,) = Chunker(tokenizer, 256, 32, "minilm").split([Page(None, "Short body text.")], title=title)
    header_tokens = len(tokenizer(chunk.header + "\n\n", add_special_tokens=False)["input_ids"])
    assert 0 < header_tokens <= (256 - 2) // 4
    assert chunk.text == "Short body text." and input_tokens(tokenizer, chunk) <= 256


def test_headers_off_splits_the_text_as_a_whole_and_changes_the_fingerprint(tokenizer):
    extracted = read(read_markdown, b"# Guide\n\nIntro.\n\n## Setup\n\nInstall it.\n")
    pages, title = extracted.pages, extracted.title
    on, off = Chunker(tokenizer, 256, 32, "minilm"), Chunker(tokenizer, 256, 32, "minilm", context_headers=False)
    (plain,) = off.split(pages, title=title)
    assert plain.header == "" and plain.text.startswith("# Guide") and "## Setup" in plain.text
    assert plain.headings == ("Guide",)  # the heading path where the chunk starts, kept for display
    assert [c.header for c in on.split(pages, title=title)] == ["Guide", "Guide > Setup"]
    assert on.fingerprint != off.fingerprint
    assert context_header("Guide", ["guide", "Setup"]) == "Guide > Setup"


def test_no_header_only_chunks_in_the_shared_pdfs(tokenizer):
    chunker = Chunker(tokenizer, 256, 32, "minilm")
    checked = 0
    for document in scan(SHARED_DATA / "pdfs"):
        try:
            pages = document.load(ReadOptions(ocr=False))  # OCR has tests of its own
        except Exception:  # noqa: BLE001 - the image-only scans have no text to chunk
            continue
        for chunk in chunker.split(pages, title=document.title):
            checked += 1
            assert not is_header_only(chunk, document.title), (document.source_uri, chunk.text)
            assert chunk.token_count <= 256
    assert checked > 500


def test_the_header_is_searchable_and_a_collection_can_turn_it_off(conn, instance, tmp_path):
    folder = tmp_path / "manual"
    folder.mkdir()
    (folder / "pump.md").write_text(
        "# Zephyr pump manual\n\n## Maintenance\n\nReplace the gasket every spring.\n")
    collections.register(conn, "manual", str(folder))
    materialize_collection(instance, "manual")
    row = conn.execute("SELECT header, text, headings FROM chunks WHERE NOT pending").fetchone()
    assert row == {"header": "Zephyr pump manual > Maintenance", "text": "Replace the gasket every spring.",
                   "headings": ["Zephyr pump manual", "Maintenance"]}
    # "zephyr" is only in the header: BM25 finds the chunk through it, and the source shows the
    # chunk's own text with its heading path.
    with api_client() as client:
        found = client.post("/search", json={"question": "zephyr", "collection": "manual", "mode": "lexical"}).json()
    (source,) = found["sources"]
    assert source["text"] == "Replace the gasket every spring."
    assert source["headings"] == ["Zephyr pump manual", "Maintenance"]

    # Turned off: the collection is re-chunked without headers, and the old chunks are replaced.
    collections.register(conn, "manual", None, context_headers=False)
    metadata = materialize_collection(instance, "manual")
    assert metadata["chunks"]["context_headers"] is False
    rows = conn.execute("SELECT header, text FROM chunks WHERE NOT pending").fetchall()
    assert rows == [{"header": "", "text": "# Zephyr pump manual\n\n## Maintenance\n\nReplace the gasket every spring."}]
