"""PDF: text per page with pypdf, in column order where the file's own order crosses columns, by OCR
where a page is only an image; the outline as headings.

Reading order: pypdf returns text in the order the file draws it, which is the reading order for
almost every file and fastest. Some files draw multi-column pages line by line across the columns
(the IRS instructions), which interleaves sentences. Those pages are recognised from their text
geometry (pdfium's character boxes: gutters free of text, and a drawing order that keeps jumping between
the columns) and read again with pdfminer.six's layout analysis, which groups text into boxes and
orders them column by column. Measured on the shared multi-column PDFs by `llamapg bench
reading_order` (README, "Reading order").
"""

from __future__ import annotations

import bisect
import io
import logging
import re

from assets.ingestion.readers import ocr
from assets.ingestion.readers.base import Budget, DocumentError, Extracted, Heading, Page, find_loosely

log = logging.getLogger(__name__)
# pypdf and pdfminer log a warning per odd font or xref; a document's failure is reported on it.
for noisy in ("pypdf", "pdfminer"):
    logging.getLogger(noisy).setLevel(logging.ERROR)

# A page with fewer visible characters than this in its text layer, and an image, is read by OCR.
OCR_BELOW_CHARACTERS = 32
# Column analysis: a gutter is a vertical band at least this wide (points) crossed by few characters
# (under this share of the busiest band: headers and footers may span it); a column is at least this
# wide, which tells prose columns from the narrow columns of a table (read row by row, as drawn).
GUTTER_MIN_WIDTH = 4
GUTTER_MAX_SHARE = 0.12
COLUMN_MIN_WIDTH = 100
MAX_COLUMNS = 4
# Text drawn in reading order crosses from one column to the next a few times a page (headers,
# footers, figures); drawn line by line across columns, about twice per line.
INTERLEAVED_SWITCHES_PER_COLUMN = 15


def read_pdf(data: bytes, budget: Budget) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    if not data:
        raise DocumentError("empty file (0 bytes)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Owner-password PDFs open with an empty user password; others need a password we lack.
            try:
                reader.decrypt("")
            except Exception as exc:  # noqa: BLE001
                raise DocumentError(f"encrypted PDF that cannot be opened without a password ({exc})") from exc
        budget.check_pages(len(reader.pages))
        texts = []
        for number, page in enumerate(reader.pages, start=1):
            budget.check_time(f"page {number}")
            texts.append(page.extract_text() or "")
        title = (reader.metadata.title if reader.metadata else None) or None
        recognised = _layout_pass(data, texts, budget)
        outline = _outline_headings(reader, texts)
    except FileNotDecryptedError as exc:
        raise DocumentError(f"encrypted PDF that cannot be opened without a password ({exc})") from exc
    except PdfReadError as exc:
        raise DocumentError(f"not a readable PDF: {exc}") from exc
    pages = [Page(number, budget.add_text(text), outline.get(number, ()), number in recognised)
             for number, text in enumerate(texts, start=1)]
    return Extracted(pages, _usable_title(title))


def _layout_pass(data: bytes, texts: list[str], budget: Budget) -> set[int]:
    """Replace, in `texts`, the text of pages drawn across their columns (read again in column
    order) and of image-only pages (recognised by OCR). Returns the page numbers read by OCR."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:  # pypdf read it; pdfium may still refuse a damaged file
        log.debug("no layout analysis: pdfium cannot open the file (%s)", exc)
        return set()
    interleaved, image_only = [], []
    try:
        for index in range(min(len(document), len(texts))):
            page = document[index]
            try:
                if len("".join(texts[index].split())) < OCR_BELOW_CHARACTERS:
                    if _has_images(page):
                        image_only.append(index)
                else:
                    textpage = page.get_textpage()
                    if reads_across_columns(textpage, page.get_width()):
                        interleaved.append(index)
                    textpage.close()
            finally:
                page.close()
        for index, text in _column_order_texts(data, interleaved).items():
            texts[index] = text
        recognised = set()
        for index in image_only:
            if not budget.may_ocr():
                break
            budget.check_time(f"OCR of page {index + 1}")
            page = document[index]
            try:
                text = ocr.recognise_page(page, budget.options.ocr_dpi)
            finally:
                page.close()
            budget.ocr_pages += 1
            if len(text.strip()) > len(texts[index].strip()):
                texts[index] = text
                recognised.add(index + 1)
        return recognised
    finally:
        document.close()


def _has_images(page) -> bool:
    import pypdfium2.raw as pdfium_c

    return next(iter(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=4)), None) is not None


def column_gutters(boxes: list[tuple[float, float]], width: float) -> list[float]:
    """The x positions of the gutters between prose columns, from the (left, right) extents of the
    page's characters; empty for a single column, a table, or more than MAX_COLUMNS columns."""
    import numpy as np

    if not boxes:
        return []
    extents = np.clip(np.asarray(boxes, dtype=float), 0, width).astype(int)
    steps = np.zeros(int(width) + 2, dtype=int)
    np.add.at(steps, extents[:, 0], 1)
    np.add.at(steps, extents[:, 1] + 1, -1)
    coverage = np.cumsum(steps)
    busy = max(1, coverage.max() * GUTTER_MAX_SHARE)
    dense = np.flatnonzero(coverage >= busy)
    first, last = int(dense[0]), int(dense[-1])
    sparse = np.flatnonzero(coverage[first:last + 1] < busy) + first
    edges = [first]
    # Runs of consecutive sparse positions inside the text's extent are the gutter candidates.
    for run in np.split(sparse, np.flatnonzero(np.diff(sparse) > 1) + 1) if sparse.size else []:
        if run[-1] - run[0] + 1 >= GUTTER_MIN_WIDTH:
            edges.append(float(run[0] + run[-1] + 1) / 2)
    edges.append(last)
    columns = list(zip(edges, edges[1:]))
    # Narrow strips at the sides are margin notes or line numbers; narrow columns between wide ones
    # are a table's.
    while columns and columns[0][1] - columns[0][0] < COLUMN_MIN_WIDTH:
        columns.pop(0)
    while columns and columns[-1][1] - columns[-1][0] < COLUMN_MIN_WIDTH:
        columns.pop()
    if not 2 <= len(columns) <= MAX_COLUMNS or min(right - left for left, right in columns) < COLUMN_MIN_WIDTH:
        return []
    return [left for left, _ in columns[1:]]


# Every CHARACTER_SAMPLE-th character is enough to see the gutters and the drawing order, in a
# fraction of the time (one call into pdfium per character).
CHARACTER_SAMPLE = 2


def character_extents(textpage) -> list[tuple[float, float]]:
    """(left, right) of every CHARACTER_SAMPLE-th visible character, in drawing order."""
    extents = []
    for index in range(0, textpage.count_chars(), CHARACTER_SAMPLE):
        left, _, right, _ = textpage.get_charbox(index)
        if right > left:
            extents.append((left, right))
    return extents


def reads_across_columns(textpage, width: float) -> bool:
    """The page has prose columns and draws its text jumping between them, line by line."""
    extents = character_extents(textpage)
    gutters = column_gutters(extents, width)
    if not gutters:
        return False
    switches, previous = 0, None
    for left, right in extents:
        column = bisect.bisect(gutters, left)
        if column != bisect.bisect(gutters, right):
            continue
        switches += previous is not None and column != previous
        previous = column
    return switches >= INTERLEAVED_SWITCHES_PER_COLUMN * (len(gutters) + 1)


def _column_order_texts(data: bytes, indexes: list[int]) -> dict[int, str]:
    """The pages' text in the order of pdfminer.six's layout analysis (text boxes, column by column)."""
    if not indexes:
        return {}
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    try:
        pages = extract_pages(io.BytesIO(data), page_numbers=set(indexes), laparams=LAParams())
        return {index: "".join(item.get_text() for item in page if isinstance(item, LTTextContainer)).strip()
                for index, page in zip(sorted(indexes), pages)}
    except Exception as exc:  # noqa: BLE001 - pypdf's reading stands if pdfminer cannot read the file
        log.debug("keeping the drawing order: pdfminer cannot read the file (%s)", exc)
        return {}


def _outline_headings(reader, texts: list[str]) -> dict[int, tuple[Heading, ...]]:
    """The PDF's outline (bookmarks) as headings on the pages they point to, placed where the title
    appears in the page's text, else at the top of the page. A broken outline is no outline."""
    found: dict[int, list[Heading]] = {}

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            title = " ".join(str(getattr(item, "title", "") or "").split())
            number = reader.get_destination_page_number(item) + 1
            if not title or not 1 <= number <= len(texts):
                continue
            span = find_loosely(texts[number - 1], title)
            found.setdefault(number, []).append(
                Heading(*span, level, title) if span else Heading(0, 0, level, title))

    try:
        walk(reader.outline, 1)
    except Exception as exc:  # noqa: BLE001 - outlines are often malformed; the text still counts
        log.debug("ignoring an unreadable PDF outline: %s", exc)
        return {}
    return {number: tuple(sorted(headings, key=lambda h: h.start)) for number, headings in found.items()}


def _usable_title(title: object) -> str | None:
    """PDF producers often store a file name ("Binder1.pdf", "10811.exe") as the title: ignore those."""
    if not isinstance(title, str) or not title.strip():
        return None
    title = title.strip()
    return None if re.search(r"\.[A-Za-z0-9]{2,4}$", title) else title
