"""The documents people have: scanned pages (OCR), text in any common encoding, Word, PowerPoint and
e-mail files, multi-column PDFs in reading order, and the per-document limits. Files are generated
here with the libraries that write them; the scans and multi-column PDFs are the shared real ones."""

from __future__ import annotations

import io
import json
import shutil
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from assets.ingestion.chunking import Chunker
from assets.ingestion.readers import DocumentError, ReadOptions, read_pdf, scan
from benchmarks.reading_order import measure
from llamapg.cli import main
from llamapg.embedders.local import load_tokenizer
from llamapg.settings import get_settings
from query_service.main import create_app
from tests.support.api import api_client
from tests.conftest import SHARED_DATA
from tests.support.readers import read

SENTENCES = (
    "The lighthouse keeper climbed the stairs at dusk.",
    "He trimmed the wick and polished the great lens.",
    "Ships passing the reef saw the beam every ten seconds.",
    "In the morning he wrote the weather in the log book.",
)
HUCKFINN = "scanned-image-only-huckfinn-p22.pdf"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def scanned_pdf(lines: tuple[str, ...], pages: int = 1) -> bytes:
    """An image-only PDF: the lines rendered into a 150 dpi page image, no text layer."""
    font = ImageFont.load_default(size=30)
    images = []
    for _ in range(pages):
        image = Image.new("RGB", (1275, 1650), "white")
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(lines):
            draw.text((110, 150 + row * 60), line, fill="black", font=font)
        images.append(image)
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=150, save_all=True, append_images=images[1:])
    return out.getvalue()


def character_error_rate(expected: str, found: str) -> float:
    """Levenshtein distance over the expected length, whitespace runs compared as one space."""
    expected, found = " ".join(expected.split()), " ".join(found.split())
    previous = list(range(len(found) + 1))
    for i, want in enumerate(expected, start=1):
        current = [i]
        for j, got in enumerate(found, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (want != got)))
        previous = current
    return previous[-1] / len(expected)


def test_ocr_reads_a_page_that_is_only_an_image():
    (page,) = read(read_pdf, scanned_pdf(SENTENCES)).pages
    assert page.ocr and page.number == 1
    assert character_error_rate("\n".join(SENTENCES), page.text) < 0.05, page.text


def test_ocr_can_be_switched_off_and_is_bounded_per_document(tmp_path):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(SENTENCES[:1], pages=2))
    (document,) = scan(tmp_path)
    with pytest.raises(DocumentError, match="OCR is off, LLAMAPG_OCR_ENABLED"):
        document.load(ReadOptions(ocr=False))
    (document,) = scan(tmp_path)
    pages = document.load(ReadOptions(ocr_max_pages=1))
    assert [page.ocr for page in pages] == [True, False] and document.ocr_pages == 1
    assert "lighthouse keeper" in pages[0].text and pages[1].text == ""


def test_pages_with_a_text_layer_keep_it():
    document = next(d for d in scan(SHARED_DATA / "pdfs") if d.source_uri == "scanned-with-ocr-layer-vicksburg-6p.pdf")
    assert document.load() and document.ocr_pages == 0


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "latin-1", "utf-8"])
def test_text_in_any_common_encoding_is_read_and_its_encoding_kept(tmp_path, encoding):
    text = ("Café prices rose in Zürich: a “naïve” forecast said €4, the committee’s report said more. "
            if encoding not in ("latin-1",) else "Café prices rose in Zürich; the façade of the crêperie was repainted. ")
    (tmp_path / "notes.txt").write_bytes((text * 3).encode(encoding))
    (document,) = scan(tmp_path)
    (page,) = document.load()
    assert page.text.strip() == (text * 3).strip()
    assert document.metadata["encoding"] == {"utf-16": "utf_16", "latin-1": "cp1252"}.get(encoding, encoding)


def test_binary_data_is_not_text(tmp_path):
    (tmp_path / "photo.txt").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "zeros.md").write_bytes(b"\x00" * 4000)
    for document in scan(tmp_path):
        with pytest.raises(DocumentError, match="binary data"):
            document.load()


def docx_file() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("Travel policy", style="Title")
    document.add_paragraph("How we travel for work.")
    document.add_heading("Allowances", level=1)
    document.add_heading("Per diem", level=2)
    document.add_paragraph("Daily allowances depend on the city.")
    table = document.add_table(rows=3, cols=2)
    for row, (city, amount) in enumerate([("City", "Allowance"), ("Zurich", "95 francs for meals"),
                                          ("Lisbon", "60 euros for meals")]):
        table.cell(row, 0).text, table.cell(row, 1).text = city, amount
    document.add_heading("Booking", level=1)
    document.add_paragraph("Book trains two weeks ahead.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pptx_file() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for title, body, notes in [
        ("Roadmap 2027", "Three launches planned.", ""),
        ("Quarterly results", "Revenue grew 12 percent.",
         "Mention that the unicorn budget was moved to research before taking questions."),
    ]:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    box = presentation.slides[0].shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1))
    box.text_frame.text = "Launch dates are provisional."
    out = io.BytesIO()
    presentation.save(out)
    return out.getvalue()


def eml_file() -> bytes:
    message = EmailMessage()
    message["Subject"] = "Boiler inspection on Friday"
    message["From"] = "Facilities <facilities@example.org>"
    message["To"] = "staff@example.org"
    message["Date"] = format_datetime(datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc))
    message.set_content("The boiler in building B will be inspected on Friday morning.\nHeating is off until noon.")
    message.add_attachment("Checklist: pressure gauge, relief valve, flue draught.".encode("cp1252"),
                           maintype="text", subtype="plain", filename="checklist.txt")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(100), maintype="image", subtype="png", filename="site.png")
    return message.as_bytes()


def test_docx_paragraphs_tables_and_heading_paths(tmp_path, tokenizer):
    (tmp_path / "travel.docx").write_bytes(docx_file())
    (document,) = scan(tmp_path)
    pages = document.load()
    assert document.title == "Travel policy"
    assert "Zurich | 95 francs for meals" in pages[0].text
    chunks = Chunker(tokenizer, 128, 16, "minilm").split(pages, title=document.title)
    table_chunk = next(chunk for chunk in chunks if "95 francs" in chunk.text)
    assert table_chunk.headings == ("Allowances", "Per diem")
    assert table_chunk.header == "Travel policy > Allowances > Per diem"
    booking = next(chunk for chunk in chunks if "trains" in chunk.text)
    assert booking.headings == ("Booking",)


def test_pptx_one_page_per_slide_with_speaker_notes(tmp_path, tokenizer):
    (tmp_path / "review.pptx").write_bytes(pptx_file())
    (document,) = scan(tmp_path)
    pages = document.load()
    assert [page.number for page in pages] == [1, 2] and document.title == "Roadmap 2027"
    assert "Launch dates are provisional." in pages[0].text
    chunks = Chunker(tokenizer, 128, 16, "minilm").split(pages, title=document.title)
    notes = next(chunk for chunk in chunks if "unicorn budget" in chunk.text)
    assert notes.page == 2 and notes.headings == ("Quarterly results", "Speaker notes")


def test_eml_subject_sender_date_body_and_text_attachments(tmp_path):
    (tmp_path / "inspection.eml").write_bytes(eml_file())
    (document,) = scan(tmp_path)
    (page,) = document.load()
    assert document.title == "Boiler inspection on Friday"
    assert document.metadata["sender"] == "Facilities <facilities@example.org>"
    assert document.metadata["date"] == "2026-03-04T09:30:00+00:00"
    assert document.metadata["attachments"] == ["checklist.txt"]
    assert document.metadata["attachments_not_read"] == ["site.png"]
    assert "inspected on Friday morning" in page.text and "relief valve" in page.text
    assert [heading.title for heading in page.headings] == ["Attachment: checklist.txt"]


def test_a_document_over_a_limit_fails_alone_naming_the_limit(tmp_path):
    (tmp_path / "slides.pptx").write_bytes(pptx_file())
    (tmp_path / "long.txt").write_text("word " * 3000)
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(SENTENCES[:1], pages=2))
    found = {d.source_uri: d for d in scan(tmp_path)}
    with pytest.raises(DocumentError, match="2 pages, over the limit of 1 pages per document .LLAMAPG_DOCUMENT_MAX_PAGES"):
        found["slides.pptx"].load(ReadOptions(max_pages=1))
    with pytest.raises(DocumentError, match="over 10,000 characters .* .LLAMAPG_DOCUMENT_MAX_CHARACTERS"):
        found["long.txt"].load(ReadOptions(max_characters=10_000))
    with pytest.raises(DocumentError, match=r"reading stopped at page 1 after [\d.]+ s, over the limit of 1e-09 s .* .LLAMAPG_DOCUMENT_MAX_SECONDS"):
        found["scan.pdf"].load(ReadOptions(max_seconds=1e-9))


def inflating_pdf(megabytes: int, streams: int) -> bytes:
    """One page whose `streams` content streams each inflate to `megabytes` of whitespace (pypdf
    refuses more than 75 MB of them on a page): kilobytes on disk, seconds inside one call of the
    parser."""
    from pypdf.generic import ArrayObject

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = writer._add_object(DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"):
                                                NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica")}))
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf 72 720 Td (Inflated) Tj ET\n" + b" " * (megabytes << 20))
    compressed = stream.flate_encode()
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(compressed) for _ in range(streams)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_document_over_its_time_is_stopped_inside_a_page_and_the_run_moves_on(database_url, conn, tmp_path):
    """The time limit is checked between pages in the reader, and enforced by killing the child
    process that reads PDFs: a single page that keeps the parser busy cannot hold the run."""
    from assets.ingestion.documents import sync_documents
    from llamapg import collections

    (tmp_path / "inflating.pdf").write_bytes(inflating_pdf(70, streams=1))
    shutil.copy(SHARED_DATA / "pdfs" / "crazyones-pdfa-1p.pdf", tmp_path / "after.pdf")
    collection = collections.register(conn, "limits", str(tmp_path))
    report = sync_documents(conn, collection, [("", tmp_path)], options=ReadOptions(max_seconds=0.5))
    assert (report.new, report.failed) == (1, 1)
    assert report.failures["inflating.pdf"] == (
        "reading stopped after 0.5 s, the limit per document (LLAMAPG_DOCUMENT_MAX_SECONDS)")


def test_multi_column_pages_are_read_column_by_column():
    """The reading-order measurement (benchmarks/reading_order.py): the share of sentences of one
    column that the extraction keeps whole. The IRS instructions draw their three columns line by
    line; pypdf's drawing order breaks nearly every such sentence."""
    irs = measure(SHARED_DATA / "pdfs" / "irs-i1040nr-instructions-50p.pdf", ("pypdf", "llamapg"))
    assert irs["sentences"] > 500
    assert irs["kept"]["pypdf"] < 0.05 and irs["kept"]["llamapg"] > 0.75, irs
    # Where the drawing order is the reading order, it is kept as it was.
    latex = measure(SHARED_DATA / "pdfs" / "latex-two-column-3p.pdf", ("pypdf", "llamapg"))
    assert latex["sentences"] > 20 and latex["kept"]["llamapg"] == latex["kept"]["pypdf"] > 0.7, latex


@pytest.mark.model
def test_scans_encodings_and_office_files_are_ingested_and_found(database_url, conn, tmp_path, monkeypatch):
    monkeypatch.setenv("LLAMAPG_DOCUMENT_MAX_CHARACTERS", "5000")
    get_settings.cache_clear()
    folder = tmp_path / "drive"
    folder.mkdir()
    (folder / "too-long.txt").write_text("All work and no play. " * 300)
    shutil.copy(SHARED_DATA / "pdfs" / HUCKFINN, folder / HUCKFINN)
    (folder / "menu.txt").write_bytes("Le café crème coûte 3 €, la crêpe au sucre 4 €.".encode("cp1252"))
    (folder / "minutes.md").write_bytes("# Minutes\n\nThe committee approved the bicycle shed.\n".encode("utf-16"))
    (folder / "travel.docx").write_bytes(docx_file())
    (folder / "review.pptx").write_bytes(pptx_file())
    (folder / "inspection.eml").write_bytes(eml_file())
    runner = CliRunner()
    ingested = runner.invoke(main, ["ingest", str(folder), "--collection", "drive", "--quiet"])
    assert ingested.exit_code == 0, ingested.output
    assert "7 documents (6 new" in ingested.output and "1 failed" in ingested.output

    def best(question: str) -> dict:
        answered = runner.invoke(main, ["query", question, "-c", "drive", "-k", "1", "--json"])
        assert answered.exit_code == 0, answered.output
        return json.loads(answered.output)["sources"][0]

    scan_hit = best("tip-toeing along a path amongst the trees towards the widow's garden")
    assert scan_hit["source"] == HUCKFINN and scan_hit["page"] == 1 and "widow" in scan_hit["text"]
    assert best("price of a crêpe au sucre")["source"] == "menu.txt"
    assert best("committee approved the bicycle shed")["source"] == "minutes.md"
    cell = best("meal allowance in Zurich")
    assert cell["source"] == "travel.docx" and cell["headings"] == ["Allowances", "Per diem"]
    notes = best("unicorn budget moved to research")
    assert notes["source"] == "review.pptx" and notes["page"] == 2 and notes["headings"][0] == "Quarterly results"
    assert best("relief valve checklist for the boiler")["source"] == "inspection.eml"

    rows = {row["source_uri"]: row for row in conn.execute("SELECT id, source_uri, metadata, error FROM documents")}
    assert "LLAMAPG_DOCUMENT_MAX_CHARACTERS" in rows["too-long.txt"]["error"]
    assert rows["menu.txt"]["metadata"]["encoding"] == "cp1252"
    assert rows["minutes.md"]["metadata"]["encoding"] == "utf_16"
    assert rows["inspection.eml"]["metadata"]["subject"] == "Boiler inspection on Friday"
    with api_client() as client:
        scanned = client.get(f"/documents/{rows[HUCKFINN]['id']}").json()
        memo = client.get(f"/documents/{rows['menu.txt']['id']}").json()
    assert (scanned["pages"], scanned["ocr_pages"], scanned["status"]) == (1, 1, "ready")
    assert (memo["pages"], memo["ocr_pages"]) == (1, 0)
