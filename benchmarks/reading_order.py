"""Reading order on multi-column PDF pages: which extraction keeps a column's sentences whole.

    .venv/bin/python -m benchmarks.reading_order [--pdfs ../shared/data/pdfs] [FILE ...] [--json FILE]
    (or `llamapg bench reading_order`)

The reference is each column read alone: pdfium's text inside the column's box (columns are the
bands between the gutters, vertical strips free of text, found as in llamapg's reader). Every
sentence of at least MIN_WORDS words that runs over a line break inside one column is one that an
extraction interleaving the columns would break. A sentence counts as kept when it appears whole in
the page's extracted text, compared without whitespace, hyphens and case (line breaks and
hyphenation differ between extractors; the order of the words must not).

Extractions compared, page by page:
- pypdf: `extract_text()`, the file's drawing order (what llamapg used before);
- pypdf layout: `extract_text(extraction_mode="layout")`, text placed as on the page;
- pdfium: pypdfium2's `get_text_range()`, pdfium's own order;
- pdfminer: pdfminer.six's layout analysis (`LAParams()` defaults), every page;
- llamapg: the reader as shipped, pypdf with pdfminer.six for the pages drawn across their columns.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from pathlib import Path

from assets.ingestion.readers.base import Budget, ReadOptions
from assets.ingestion.readers.pdf import character_extents, column_gutters, read_pdf

DEFAULT_PDFS = Path(__file__).resolve().parents[2] / "shared" / "data" / "pdfs"
MULTI_COLUMN_FILES = (
    "irs-i1040nr-instructions-50p.pdf",
    "federal-register-2020-17221-3col-15p.pdf",
    "latex-two-column-3p.pdf",
    "naacl06-shinyama-paper-2col-8p.pdf",
)
EXTRACTIONS = ("pypdf", "pypdf layout", "pdfium", "pdfminer", "llamapg")
MIN_WORDS = 10


def comparable(text: str) -> str:
    return re.sub(r"[\s\-\u00ad\u2010\u2011]+", "", text).casefold()


def column_sentences(page) -> list[str]:
    """Sentences that run over a line break inside one column of a pypdfium2 page (none on a page
    of one column)."""
    textpage = page.get_textpage()
    try:
        width, height = page.get_size()
        gutters = column_gutters(character_extents(textpage), width)
        if not gutters:
            return []
        edges = [0.0, *gutters, width]
        sentences = []
        for left, right in zip(edges, edges[1:]):
            column = textpage.get_text_bounded(left=left, bottom=0, right=right, top=height)
            sentences += [sentence for sentence in re.split(r"(?<=[.?!])\s+", column)
                          if len(sentence.split()) >= MIN_WORDS and "\n" in sentence.strip()]
        return sentences
    finally:
        textpage.close()


def extractions(data: bytes, names: tuple[str, ...] = EXTRACTIONS) -> dict[str, tuple[list[str], float]]:
    """Each named extraction's text per page, and the seconds it took for the whole file."""
    import pypdfium2 as pdfium
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer
    from pypdf import PdfReader

    def timed(read) -> tuple[list[str], float]:
        started = time.perf_counter()
        texts = read()
        return texts, time.perf_counter() - started

    def pypdf_pages(**options) -> list[str]:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        return [page.extract_text(**options) or "" for page in reader.pages]

    def pdfium_pages() -> list[str]:
        document = pdfium.PdfDocument(data)
        return [document[index].get_textpage().get_text_range() for index in range(len(document))]

    def pdfminer_pages() -> list[str]:
        return ["".join(item.get_text() for item in page if isinstance(item, LTTextContainer))
                for page in extract_pages(io.BytesIO(data), laparams=LAParams())]

    def llamapg_pages() -> list[str]:
        return [page.text for page in read_pdf(data, Budget(ReadOptions(ocr=False))).pages]

    readers = {
        "pypdf": pypdf_pages,
        "pypdf layout": lambda: pypdf_pages(extraction_mode="layout"),
        "pdfium": pdfium_pages,
        "pdfminer": pdfminer_pages,
        "llamapg": llamapg_pages,
    }
    return {name: timed(readers[name]) for name in names}


def measure(path: Path, names: tuple[str, ...] = EXTRACTIONS) -> dict:
    """Sentences kept by each extraction of one file: {"sentences", "pages", "kept": {name: share},
    "seconds": {name: s}}."""
    import pypdfium2 as pdfium

    data = path.read_bytes()
    document = pdfium.PdfDocument(data)
    reference = [column_sentences(document[index]) for index in range(len(document))]
    results = extractions(data, names)
    total = sum(len(sentences) for sentences in reference)
    kept = {}
    for name, (texts, _) in results.items():
        found = 0
        for sentences, text in zip(reference, texts):
            page_text = comparable(text)
            found += sum(comparable(sentence) in page_text for sentence in sentences)
        kept[name] = found / total if total else None
    return {"file": path.name, "pages": len(document), "sentences": total, "kept": kept,
            "seconds": {name: seconds for name, (_, seconds) in results.items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help=f"PDF file names under --pdfs (default: {', '.join(MULTI_COLUMN_FILES)})")
    parser.add_argument("--pdfs", type=Path, default=DEFAULT_PDFS)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    files = [args.pdfs / name for name in (args.files or MULTI_COLUMN_FILES)]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        sys.exit(f"not found: {', '.join(missing)}")
    rows = []
    print(f"| file | pages | column sentences | {' | '.join(EXTRACTIONS)} |")
    print(f"|---|---|---|{'---|' * len(EXTRACTIONS)}")
    for path in files:
        row = measure(path)
        rows.append(row)
        cells = [f"{row['kept'][name]:.1%} ({row['seconds'][name] / row['pages'] * 1000:.0f} ms/page)"
                 if row["kept"][name] is not None else "-" for name in EXTRACTIONS]
        print(f"| {row['file']} | {row['pages']} | {row['sentences']} | {' | '.join(cells)} |", flush=True)
    total = sum(row["sentences"] for row in rows)
    overall = [sum((row["kept"][name] or 0) * row["sentences"] for row in rows) / total if total else 0
               for name in EXTRACTIONS]
    print(f"| all | {sum(row['pages'] for row in rows)} | {total} | {' | '.join(f'{share:.1%}' for share in overall)} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
