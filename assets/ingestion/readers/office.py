"""Word (.docx, python-docx) and PowerPoint (.pptx, python-pptx) files."""

from __future__ import annotations

import io
import re

from assets.ingestion.readers.base import Budget, Extracted, PageBuilder

# Word's built-in heading styles ("Heading 1" .. "Heading 9"), in any language's style id.
_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
CELL_SEPARATOR = " | "
SPEAKER_NOTES = "Speaker notes"


def read_docx(data: bytes, budget: Budget) -> Extracted:
    """Paragraphs and tables in document order (a table row per line, cells separated by " | "), the
    "Heading N" paragraphs as headings, and the "Title" paragraph (or the file's title) as title."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    builder, title = PageBuilder(budget), document.core_properties.title or None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            builder.add(_table_text(block))
            continue
        style = block.style.name if block.style is not None else ""
        level = _heading_level(block)
        if style == "Title" and title is None:
            title = " ".join(block.text.split()) or None
        elif level:
            builder.heading(level, block.text)
        else:
            builder.add(block.text)
    return Extracted([builder.page(None)], title)


def _heading_level(paragraph) -> int | None:
    style = paragraph.style
    for name in (style.name if style is not None else "", style.style_id if style is not None else ""):
        match = _HEADING_STYLE.match(name or "")
        if match:
            return int(match.group(1))
    return None


def _table_text(table) -> str:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(CELL_SEPARATOR.join(cells))
    return "\n".join(rows)


def read_pptx(data: bytes, budget: Budget) -> Extracted:
    """One page per slide: its title as the heading, its text boxes and tables top to bottom, then
    its speaker notes under a "Speaker notes" heading."""
    from pptx import Presentation

    presentation = Presentation(io.BytesIO(data))
    slides = list(presentation.slides)
    budget.check_pages(len(slides))
    pages, first_title = [], None
    for number, slide in enumerate(slides, start=1):
        budget.check_time(f"slide {number}")
        builder = PageBuilder(budget)
        title_shape = slide.shapes.title
        slide_title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        builder.heading(1, slide_title or f"Slide {number}")
        first_title = first_title or slide_title or None
        for shape in sorted(_shapes(slide.shapes), key=lambda s: (s.top or 0, s.left or 0)):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if shape.has_text_frame:
                builder.add(shape.text_frame.text)
            elif getattr(shape, "has_table", False) and shape.has_table:
                builder.add(_table_text(shape.table))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = slide.notes_slide.notes_text_frame.text
            if notes.strip():
                builder.heading(2, SPEAKER_NOTES)
                builder.add(notes)
        pages.append(builder.page(number))
    return Extracted(pages, presentation.core_properties.title or first_title)


def _shapes(shapes):
    """Every shape, those inside groups included."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape
