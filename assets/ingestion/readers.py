"""Read a collection's source directory into documents: text per page, a content hash, a title.

Scanning hashes bytes only; parsing happens lazily for new or changed documents, and a parse
error belongs to its own document (`DocumentError`), never to the batch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)
# pypdf logs a warning per odd font or xref; a document's failure is reported on the document.
logging.getLogger("pypdf").setLevel(logging.ERROR)

from llamapg.formats import FILE_SUFFIXES, SUPPORTED_SUFFIXES


class DocumentError(Exception):
    """A document that cannot be read; the message is stored on the document for the user."""


@dataclass(frozen=True)
class Heading:
    """A section title: where it starts in its page's text (and ends: a Markdown heading line is part
    of the text, a PDF outline entry may not be), its depth (1 = top) and its words."""

    start: int
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class Page:
    number: int | None
    text: str
    headings: tuple[Heading, ...] = ()


def headings_json(headings: tuple[Heading, ...]) -> str | None:
    """document_pages.headings: [[start, end, level, title], ...], or NULL for none."""
    if not headings:
        return None
    return json.dumps([[h.start, h.end, h.level, h.title.replace("\x00", "")] for h in headings])


def headings_from_json(value: list | None) -> tuple[Heading, ...]:
    return tuple(Heading(*item) for item in value or ())


@dataclass
class SourceDocument:
    source_uri: str
    content_hash: str
    title: str | None
    metadata: dict = field(default_factory=dict)
    _load: Callable[[], tuple[list[Page], str | None]] | None = None
    pages: list[Page] | None = None

    def load(self) -> list[Page]:
        """Extract the text; raises DocumentError with a readable reason."""
        if self.pages is None:
            assert self._load is not None
            try:
                self.pages, title = self._load()
            except DocumentError:
                raise
            except RecursionError as exc:
                raise DocumentError(f"malformed document: structure nests too deeply ({exc})") from exc
            except Exception as exc:  # noqa: BLE001 - parsers raise anything on corrupt input
                raise DocumentError(f"{type(exc).__name__}: {exc}") from exc
            self.title = title or self.title
        if not any(page.text.strip() for page in self.pages):
            raise DocumentError(
                "no extractable text (a scanned image without an OCR layer, or an empty file)"
            )
        return self.pages


def source_files(root: Path) -> Iterator[tuple[Path, str]]:
    """(path, relative name) of every supported file under `root`, in a stable order.

    Hidden files are ignored, which is also how an upload in progress (a hidden temporary file,
    renamed when complete) stays invisible.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"collection source directory does not exist: {root}")
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts) and (
            path.suffix.lower() in SUPPORTED_SUFFIXES
        ):
            yield path, relative.as_posix()


def files_fingerprint(roots: list[tuple[str, Path]]) -> str:
    """Changes whenever a supported file is added, removed, resized or touched under any root."""
    digest = hashlib.sha256()
    for prefix, root in roots:
        if not root.is_dir():
            continue
        for path, relative in source_files(root):
            stat = path.stat()
            digest.update(f"{prefix}{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def expected_documents(roots: list[tuple[str, Path]]) -> int:
    """How many documents a scan of `roots` will yield (a dataset's rows counted cheaply: its lines,
    or its Parquet footer), for progress with time left."""
    total = 0
    for _, root in roots:
        if not root.is_dir():
            continue
        for path, _ in source_files(root):
            suffix = path.suffix.lower()
            try:
                if suffix == ".parquet":
                    import pyarrow.parquet as pq

                    total += pq.ParquetFile(path).metadata.num_rows
                elif suffix in FILE_SUFFIXES:
                    total += 1
                else:
                    with path.open("rb") as lines:
                        total += sum(1 for line in lines if line.strip())
            except Exception:  # noqa: BLE001 - an unreadable dataset is one (failed) document
                total += 1
    return total


def scan(root: Path, prefix: str = "") -> Iterator[SourceDocument]:
    """Every supported document under `root`; source URIs are `prefix` + the relative path."""
    for path, relative in source_files(root):
        if path.suffix.lower() in FILE_SUFFIXES:
            yield _file_document(path, prefix + relative)
        else:
            yield from dataset_documents(path, prefix + relative)


def _file_document(path: Path, source_uri: str) -> SourceDocument:
    data = path.read_bytes()
    reader = _READERS[path.suffix.lower()]
    return SourceDocument(
        source_uri=source_uri,
        content_hash=hashlib.sha256(data).hexdigest(),
        title=path.stem,
        metadata={"file_name": path.name, "size_bytes": len(data)},
        _load=lambda: reader(data),
    )


def read_pdf(data: bytes) -> tuple[list[Page], str | None]:
    import io

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
        texts = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
        outline = _outline_headings(reader, texts)
        pages = [Page(number, text, outline.get(number, ())) for number, text in enumerate(texts, start=1)]
    except FileNotDecryptedError as exc:
        raise DocumentError(f"encrypted PDF that cannot be opened without a password ({exc})") from exc
    except PdfReadError as exc:
        raise DocumentError(f"not a readable PDF: {exc}") from exc
    return pages, _usable_title(title)


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
            span = _find_loosely(texts[number - 1], title)
            found.setdefault(number, []).append(
                Heading(*span, level, title) if span else Heading(0, 0, level, title))

    try:
        walk(reader.outline, 1)
    except Exception as exc:  # noqa: BLE001 - outlines are often malformed; the text still counts
        log.debug("ignoring an unreadable PDF outline: %s", exc)
        return {}
    return {number: tuple(sorted(headings, key=lambda h: h.start)) for number, headings in found.items()}


def folded(text: str) -> str:
    """`text` compared loosely: NFKC forms, case-blind, any run of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _find_loosely(text: str, words: str) -> tuple[int, int] | None:
    """Where `words` appear in `text`, comparing NFKC forms case-blind with any run of whitespace
    as one space: an outline says "Grundbegriffe" where the page's text has the ligature "ﬀ"."""
    loose, origin = [], []
    for index, char in enumerate(text):
        for piece in unicodedata.normalize("NFKC", char).casefold():
            if piece.isspace():
                if loose and loose[-1] == " ":
                    continue
                piece = " "
            loose.append(piece)
            origin.append(index)
    needle = folded(words)
    at = "".join(loose).find(needle) if needle else -1
    if at < 0:
        return None
    return origin[at], origin[at + len(needle) - 1] + 1


def _usable_title(title: object) -> str | None:
    """PDF producers often store a file name ("Binder1.pdf", "10811.exe") as the title: ignore those."""
    if not isinstance(title, str) or not title.strip():
        return None
    title = title.strip()
    return None if re.search(r"\.[A-Za-z0-9]{2,4}$", title) else title


def read_text(data: bytes) -> tuple[list[Page], str | None]:
    text = _decode(data)
    title = None
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip() or None
            break
    return [Page(None, text)], title


def read_markdown(data: bytes) -> tuple[list[Page], str | None]:
    """Markdown: the text as written, with its headings (ATX and setext, not those inside code
    blocks) found by markdown-it's CommonMark parser."""
    from markdown_it import MarkdownIt

    pages, title = read_text(data)
    text = pages[0].text
    line_starts = [0, *(match.end() for match in re.finditer(r"\n", text))]
    tokens = MarkdownIt("commonmark").parse(text)
    headings = []
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open" and opening.map:
            first, after = opening.map
            end = line_starts[after] if after < len(line_starts) else len(text)
            words = " ".join(inline.content.split())
            if words:
                headings.append(Heading(line_starts[first], end, int(opening.tag[1]), words))
    return [Page(None, text, tuple(headings))], title


HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def read_html(data: bytes) -> tuple[list[Page], str | None]:
    """The visible text, one line per text node (what `get_text("\\n", strip=True)` gives), with the
    h1-h6 elements as headings."""
    from bs4 import BeautifulSoup
    from bs4.element import CData, NavigableString

    soup = BeautifulSoup(_decode(data), "html.parser")
    for hidden in soup(["script", "style", "noscript", "template"]):
        hidden.decompose()
    title = soup.title.get_text(strip=True) if soup.title else None
    if soup.title:
        soup.title.decompose()
    lines, headings, offset, open_heading = [], [], 0, None
    for string in soup.find_all(string=True):
        words = string.strip()
        # Comments, doctypes and the like are strings to BeautifulSoup but not text.
        if not words or type(string) not in (NavigableString, CData):
            continue
        heading = string.find_parent(HTML_HEADINGS)
        if heading is not None and heading is not open_heading:
            open_heading = heading
            name = " ".join(heading.get_text(" ", strip=True).split())
            headings.append(Heading(offset, offset + len(words), int(heading.name[1]), name))
        elif heading is not None and headings:
            last = headings[-1]
            headings[-1] = Heading(last.start, offset + len(words), last.level, last.title)
        lines.append(words)
        offset += len(words) + 1
    return [Page(None, "\n".join(lines), tuple(h for h in headings if h.title))], title or None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"not UTF-8 text ({exc})") from exc


_READERS: dict[str, Callable[[bytes], tuple[list[Page], str | None]]] = {
    ".pdf": read_pdf,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".txt": read_text,
    ".html": read_html,
    ".htm": read_html,
}

# Column names tried, in order, for a dataset row's id, title and text (BEIR uses _id/title/text).
ID_COLUMNS = ("_id", "id", "doc_id", "docid")
TITLE_COLUMNS = ("title", "name")
TEXT_COLUMNS = ("text", "content", "body", "contents")


def dataset_documents(path: Path, relative: str) -> Iterator[SourceDocument]:
    """One document per row of a JSONL or Parquet file, read with pyarrow."""
    try:
        table = _read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid and friends
        yield _broken_dataset(path, relative, f"{type(exc).__name__}: {exc}")
        return
    columns = table.column_names
    id_column = next((c for c in ID_COLUMNS if c in columns), None)
    text_column = next((c for c in TEXT_COLUMNS if c in columns), None)
    title_column = next((c for c in TITLE_COLUMNS if c in columns), None)
    if text_column is None:
        yield _broken_dataset(path, relative, f"no text column: expected one of {', '.join(TEXT_COLUMNS)}")
        return
    for row_number, row in enumerate(table.to_pylist()):
        row_id = str(row[id_column]) if id_column and row.get(id_column) is not None else str(row_number)
        text = row.get(text_column) or ""
        title = row.get(title_column) if title_column else None
        extra = {k: v for k, v in row.items() if k not in {id_column, text_column, title_column}}
        metadata = {"file_name": path.name, "row_id": row_id, **_json_safe(extra)}
        digest = hashlib.sha256(json.dumps([title, text, metadata], sort_keys=True, default=str).encode()).hexdigest()
        yield SourceDocument(
            source_uri=f"{relative}#{row_id}",
            content_hash=digest,
            title=title or row_id,
            metadata=metadata,
            # The title is the document's, not a piece of its text: chunks carry it in their header.
            pages=[Page(None, text)],
        )


def _read_table(path: Path):
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.json as pj

    return pj.read_json(path)


def _broken_dataset(path: Path, relative: str, reason: str) -> SourceDocument:
    def fail() -> tuple[list[Page], str | None]:
        raise DocumentError(f"unreadable dataset file: {reason}")

    data = path.read_bytes()
    return SourceDocument(relative, hashlib.sha256(data).hexdigest(), path.stem, {"file_name": path.name}, _load=fail)


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))
