"""What every reader shares: the page and heading types, the per-document limits, loose matching."""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Callable

from llamapg.settings import Settings


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
    # The text was recognised in the page's image (the page had no text layer).
    ocr: bool = False


@dataclass
class Extracted:
    """What a reader found in a file: its pages, a title when the file names one, and metadata the
    format carries (an e-mail's sender, a text file's detected encoding)."""

    pages: list[Page]
    title: str | None = None
    metadata: dict = field(default_factory=dict)


# ReadOptions field -> the setting it comes from; the settings hold the defaults.
SETTINGS_OF_OPTIONS = {
    "max_pages": "document_max_pages",
    "max_characters": "document_max_characters",
    "max_seconds": "document_max_seconds",
    "ocr": "ocr_enabled",
    "ocr_max_pages": "ocr_max_pages",
    "ocr_dpi": "ocr_dpi",
}


def _default(option: str):
    return Settings.model_fields[SETTINGS_OF_OPTIONS[option]].default


@dataclass(frozen=True)
class ReadOptions:
    """Per-document limits and OCR, from the settings (`LLAMAPG_DOCUMENT_*`, `LLAMAPG_OCR_*`), whose
    defaults are these options' defaults."""

    max_pages: int = _default("max_pages")
    max_characters: int = _default("max_characters")
    max_seconds: float = _default("max_seconds")
    ocr: bool = _default("ocr")
    ocr_max_pages: int = _default("ocr_max_pages")
    ocr_dpi: int = _default("ocr_dpi")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadOptions:
        return cls(**{option: getattr(settings, setting) for option, setting in SETTINGS_OF_OPTIONS.items()})


class Budget:
    """One document's reading against its limits: a document over a limit fails alone, naming it.

    Time is checked between pages here; a reader cannot be interrupted inside a library call, so
    the binary formats are also read in a child process that is killed at the limit (isolation.py).
    """

    def __init__(self, options: ReadOptions) -> None:
        self.options = options
        self.started = time.monotonic()
        self.characters = 0
        self.ocr_pages = 0

    def check_pages(self, count: int) -> None:
        if count > self.options.max_pages:
            raise DocumentError(f"{count} pages, over the limit of {self.options.max_pages} pages per document "
                                "(LLAMAPG_DOCUMENT_MAX_PAGES)")

    def check_time(self, where: str) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.options.max_seconds:
            raise DocumentError(f"reading stopped at {where} after {elapsed:.1f} s, over the limit of "
                                f"{self.options.max_seconds:g} s per document (LLAMAPG_DOCUMENT_MAX_SECONDS)")

    def add_text(self, text: str) -> str:
        self.characters += len(text)
        if self.characters > self.options.max_characters:
            raise DocumentError(f"over {self.options.max_characters:,} characters of text, the limit per "
                                "document (LLAMAPG_DOCUMENT_MAX_CHARACTERS)")
        return text

    def may_ocr(self) -> bool:
        """OCR is on and this document has not used up its OCR pages."""
        return self.options.ocr and self.ocr_pages < self.options.ocr_max_pages


def headings_json(headings: tuple[Heading, ...]) -> str | None:
    """document_pages.headings: [[start, end, level, title], ...], or NULL for none."""
    if not headings:
        return None
    return json.dumps([[h.start, h.end, h.level, h.title.replace("\x00", "")] for h in headings])


def headings_from_json(value: list | None) -> tuple[Heading, ...]:
    return tuple(Heading(*item) for item in value or ())


def folded(text: str) -> str:
    """`text` compared loosely: NFKC forms, case-blind, any run of whitespace as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def find_loosely(text: str, words: str) -> tuple[int, int] | None:
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


class PageBuilder:
    """A page's text written block by block (a blank line between blocks), with its headings where
    they were written: for formats whose structure comes as objects (DOCX, PPTX, e-mail)."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.blocks: list[str] = []
        self.length = 0
        self.headings: list[Heading] = []

    def add(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        if self.blocks:
            self.length += 2  # the blank line before this block
        self.blocks.append(self.budget.add_text(text))
        self.length += len(text)

    def heading(self, level: int, title: str) -> None:
        title = " ".join(title.split())
        if title:
            self.add(title)
            self.headings.append(Heading(self.length - len(title), self.length, level, title))

    def page(self, number: int | None, ocr: bool = False) -> Page:
        return Page(number, "\n\n".join(self.blocks), tuple(self.headings), ocr)


def guarded(read: Callable[[], Extracted]) -> Extracted:
    """`read()`, with anything a parser raises on corrupt input turned into a DocumentError that
    says what went wrong (in process and in the isolation child alike)."""
    try:
        return read()
    except DocumentError:
        raise
    except RecursionError as exc:
        raise DocumentError(f"malformed document: structure nests too deeply ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - parsers raise anything on corrupt input
        raise DocumentError(f"{type(exc).__name__}: {exc}") from exc


@dataclass
class SourceDocument:
    source_uri: str
    content_hash: str
    title: str | None
    metadata: dict = field(default_factory=dict)
    read: Callable[[Budget], Extracted] | None = None
    pages: list[Page] | None = None
    # A file of a format read in a child process (isolation.ISOLATED): its suffix and bytes.
    isolated: tuple[str, bytes] | None = None

    def load(self, options: ReadOptions | None = None, reader=None) -> list[Page]:
        """Extract the text within the limits of `options`; raises DocumentError with a readable reason.
        With `reader` (an isolation.IsolatedReader), binary formats are read in its child process."""
        options = options or ReadOptions()
        budget = Budget(options)
        if self.pages is None:
            assert self.read is not None
            if reader and self.isolated:
                extracted = reader.read(*self.isolated)
            else:
                extracted = guarded(lambda: self.read(budget))
            self.pages = extracted.pages
            self.title = extracted.title or self.title
            self.metadata.update(extracted.metadata)
        else:  # a dataset row, read with its file
            budget.add_text("".join(page.text for page in self.pages))
        budget.check_pages(len(self.pages))
        if not any(page.text.strip() for page in self.pages):
            raise DocumentError(
                "no extractable text (an empty file, or pages that are only images: OCR found no text)"
                if options.ocr else
                "no extractable text (an empty file, or pages that are only images: OCR is off, LLAMAPG_OCR_ENABLED)"
            )
        return self.pages

    @property
    def ocr_pages(self) -> int:
        return sum(page.ocr for page in self.pages or ())
