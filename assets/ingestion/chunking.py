"""Split document text into chunks sized in the embedding model's own tokens."""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Sequence

from langchain_text_splitters import RecursiveCharacterTextSplitter
from tokenizers import Tokenizer
from transformers.utils import logging as transformers_logging

from assets.ingestion.readers import Page, folded, headings_from_json
from llamapg import queries
from llamapg.headers import context_header
from llamapg.progress import Progress

log = logging.getLogger(__name__)

PAGE_SEPARATOR = "\n\n"
HEADER_SEPARATOR = "\n\n"
# Part of every chunk fingerprint: changing how text is split re-chunks collections. (v2: sections
# and context headers. Sentence-end separators were measured too and lost 0.003 nDCG@10 on SciFact.)
SPLITTER_VERSION = "v2"
# A header may take at most this share of a chunk's token budget; a longer one is cut.
HEADER_MAX_SHARE = 4
# Counting tokens of a whole page trips the "longer than the maximum sequence length" warning,
# which is about running the model, not counting.
transformers_logging.set_verbosity_error()


class ChunkingConfigError(ValueError):
    """Chunk settings that would make a model silently drop text."""


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    token_count: int
    page: int | None
    page_end: int | None
    char_start: int
    char_end: int
    headings: tuple[str, ...] = ()
    header: str = ""

    @property
    def content_hash(self) -> bytes:
        """Vectors are keyed by what is embedded: the header and the text."""
        return hashlib.sha256(embedding_input(self.header, self.text).encode()).digest()


def embedding_input(header: str, text: str) -> str:
    """What the model reads for a chunk: its context header, a blank line, its text."""
    return f"{header}{HEADER_SEPARATOR}{text}" if header else text


def check_chunk_size(chunk_size: int, chunk_overlap: int, model_limits: dict[str, int]) -> None:
    """Refuse a size larger than any model's input window: the model would truncate silently."""
    if chunk_overlap < 0 or chunk_overlap >= chunk_size:
        raise ChunkingConfigError(
            f"chunk overlap ({chunk_overlap}) must be at least 0 and smaller than the chunk size ({chunk_size})"
        )
    too_small = {name: limit for name, limit in model_limits.items() if limit < chunk_size}
    if too_small:
        detail = ", ".join(f"{name} reads at most {limit} tokens" for name, limit in sorted(too_small.items()))
        raise ChunkingConfigError(
            f"chunk size {chunk_size} tokens is larger than the embedding model's input limit ({detail}); "
            f"the rest of each chunk would be silently dropped. Set LLAMAPG_CHUNK_SIZE (or the chunks "
            f"asset's chunk_size) to at most {min(too_small.values())}."
        )


class Chunker:
    """RecursiveCharacterTextSplitter measuring length with `tokenizer`, section by section.

    `chunk_size` counts the model's special tokens ([CLS], [SEP]) too, because they share the
    model's input window: 256 here means the chunk fills all-MiniLM-L6-v2's window exactly.

    With `context_headers` (the default), each chunk carries a header: the document's title and
    the heading path of its section. The header is embedded and indexed with the chunk but is not
    part of the text that gets split, so no chunk is ever a title or a heading alone, and its tokens
    come out of the chunk's budget, so header and text together fit the model's window. Without
    headers, the document's text is split as a whole, heading lines included.
    """

    def __init__(self, tokenizer, chunk_size: int, chunk_overlap: int, tokenizer_name: str,
                 context_headers: bool = True) -> None:
        self.tokenizer = tokenizer
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.context_headers = context_headers
        self.special_tokens = tokenizer.num_special_tokens_to_add()
        # The fast tokenizer's Rust core counts what `tokenizer.tokenize` counts, without its Python
        # overhead (a 1,400-character text: about 240 microseconds through `tokenize`); a copy,
        # because the model's own pads and truncates, which would change the count.
        self._backend = None
        if getattr(tokenizer, "backend_tokenizer", None) is not None:
            self._backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
            self._backend.no_padding()
            self._backend.no_truncation()
        # langchain's from_huggingface_tokenizer measures len(tokenizer.tokenize(piece)); the same,
        # cached: the splitter measures every piece (often every word) one call at a time.
        self._length = functools.lru_cache(maxsize=1 << 16)(lambda piece: self._count([piece])[0])
        self._splitters: dict[int, RecursiveCharacterTextSplitter] = {}
        self.fingerprint = f"{tokenizer_name}:{chunk_size}:{chunk_overlap}:{SPLITTER_VERSION}" + (
            ":headers" if context_headers else "")

    def _count(self, texts: list[str]) -> list[int]:
        """Tokens of each text, special tokens not included, in one call."""
        if self._backend is not None:
            return [len(encoding.ids) for encoding in self._backend.encode_batch(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    def _splitter(self, budget: int) -> RecursiveCharacterTextSplitter:
        if budget not in self._splitters:
            self._splitters[budget] = RecursiveCharacterTextSplitter(
                chunk_size=budget, chunk_overlap=min(self.chunk_overlap, budget // 2), length_function=self._length)
        return self._splitters[budget]

    def _fit_header(self, header: str) -> tuple[str, int]:
        """The header cut to its share of the window, and its tokens (the separator's included)."""
        cap = max(1, (self.chunk_size - self.special_tokens) // HEADER_MAX_SHARE)
        tokens = self._length(header + HEADER_SEPARATOR)
        if tokens <= cap:
            return header, tokens
        if self._backend is not None:
            offsets = self._backend.encode(header, add_special_tokens=False).offsets
            header = header[:offsets[cap - 1][1]].rstrip()
        while header and self._length(header + HEADER_SEPARATOR) > cap:
            header = header.rsplit(maxsplit=1)[0] if " " in header.strip() else header[:-1]
        return header, self._length(header + HEADER_SEPARATOR)

    def split(self, pages: Sequence[Page], title: str | None = None) -> list[Chunk]:
        return self.split_many([pages], [title])[0]

    def split_many(self, documents: Sequence[Sequence[Page]],
                   titles: Sequence[str | None] | None = None) -> list[list[Chunk]]:
        """Chunks of each document. Every section's text is measured in one tokenizer call for the
        whole batch; a section that fits its budget is one chunk (the text, stripped) and never goes
        through the splitter."""
        titles = titles if titles is not None else [None] * len(documents)
        limit = self.chunk_size - self.special_tokens
        plans = []  # per document: (joined text, page starts, [(section, header, header tokens)])
        for pages, title in zip(documents, titles):
            text, page_starts = _join(pages)
            headings = _document_headings(pages, page_starts)
            sections = (_sections(text, headings) if self.context_headers
                        else [_Section((), 0, len(text), inside=tuple(_heading_paths(headings)))])
            planned = []
            for section in sections:
                header = context_header(title, section.headings) if self.context_headers else ""
                header, header_tokens = self._fit_header(header) if header else ("", 0)
                planned.append((section, header, header_tokens))
            plans.append((text, page_starts, planned))
        bodies = [_body(text[s.start:s.end], title, s.headings)
                  for (text, _, planned), title in zip(plans, titles) for s, _, _ in planned]
        body_counts = iter(self._count(bodies))
        body_iter = iter(bodies)
        pieces_per_document = []
        for text, _, planned in plans:
            pieces = []
            for section, header, header_tokens in planned:
                body, count = next(body_iter), next(body_counts)
                budget = limit - header_tokens
                if not body:
                    pieces.append([])
                elif count <= budget:
                    pieces.append([body])
                else:
                    pieces.append(self._splitter(budget).split_text(text[section.start:section.end]))
            pieces_per_document.append(pieces)
        counts = iter(self._count([p for document in pieces_per_document for section in document for p in section]))
        result = []
        for pages, (text, page_starts, planned), pieces in zip(documents, plans, pieces_per_document):
            chunks: list[Chunk] = []
            for (section, header, header_tokens), texts in zip(planned, pieces):
                for chunk_text, start in zip(texts, _offsets(text, texts, section.start)):
                    end = start + len(chunk_text)
                    chunks.append(Chunk(
                        ordinal=len(chunks),
                        text=chunk_text,
                        token_count=header_tokens + next(counts) + self.special_tokens,
                        page=_page_at(pages, page_starts, start),
                        page_end=_page_at(pages, page_starts, max(start, end - 1)),
                        char_start=start,
                        char_end=end,
                        headings=section.headings if self.context_headers else _headings_at(section.inside, start),
                        header=header,
                    ))
            result.append(chunks)
        return result


@dataclass(frozen=True)
class _Section:
    headings: tuple[str, ...]
    start: int
    end: int
    # Without context headers the whole text is one section: its headings' paths (_heading_paths),
    # to give each chunk the heading path in force where it starts.
    inside: tuple[tuple[int, int, tuple[str, ...]], ...] = ()


def _body(section_text: str, title: str | None, headings: tuple[str, ...]) -> str:
    """The section's text, stripped; empty when it only repeats its title or a heading (a heading
    the reader could not place in the text stays in it): such a chunk would say nothing."""
    body = section_text.strip()
    if folded(body.lstrip("#")) in {folded(t) for t in (title or "", *headings)}:
        return ""
    return body


def _document_headings(pages: Sequence[Page], page_starts: list[int]) -> tuple[tuple[int, int, int, str], ...]:
    """(start, end, level, title) of every heading, as offsets into the joined text."""
    return tuple(sorted((offset + h.start, offset + h.end, h.level, h.title)
                        for page, offset in zip(pages, page_starts) for h in page.headings))


def _heading_paths(headings: Sequence[tuple[int, int, int, str]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, heading path after it) for each heading: a heading replaces those of its level
    and deeper."""
    paths, path = [], []
    for start, end, level, title in headings:
        path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
        paths.append((start, end, tuple(t for _, t in path)))
    return paths


def _sections(text: str, headings: Sequence[tuple[int, int, int, str]]) -> list[_Section]:
    """The text cut at each heading: each section's heading path, and its text without the heading."""
    sections, path, cursor = [], (), 0
    for start, end, after in _heading_paths(headings):
        start = max(start, cursor)
        sections.append(_Section(path, cursor, start))
        path, cursor = after, max(end, start)
    sections.append(_Section(path, cursor, len(text)))
    return [section for section in sections if section.end > section.start]


def _headings_at(paths: Sequence[tuple[int, int, tuple[str, ...]]], offset: int) -> tuple[str, ...]:
    """The heading path in force at `offset`, from _heading_paths (for chunks split without sections)."""
    before = bisect.bisect_right(paths, offset, key=lambda path: path[0])
    return paths[before - 1][2] if before else ()


def _offsets(text: str, pieces: Sequence[str], cursor: int = 0) -> list[int]:
    """Where each chunk starts in `text`, searching from `cursor`. Chunks come in order and each
    starts after the one before; langchain's own start_index assumes an overlap counted in
    characters, so it is not used."""
    offsets, section_start = [], cursor
    for piece in pieces:
        found = text.find(piece, cursor)
        if found < 0:  # the splitter strips whitespace; fall back to a search from the section start
            found = max(text.find(piece, section_start), 0)
        offsets.append(found)
        cursor = found + 1
    return offsets


def _join(pages: Sequence[Page]) -> tuple[str, list[int]]:
    starts, parts, offset = [], [], 0
    for page in pages:
        starts.append(offset)
        parts.append(page.text)
        offset += len(page.text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(parts), starts


def _page_at(pages: Sequence[Page], page_starts: list[int], offset: int) -> int | None:
    return pages[bisect.bisect_right(page_starts, offset) - 1].number


@dataclass
class ChunkReport:
    documents: int = 0
    chunks: int = 0
    tokens: int = 0
    max_tokens: int = 0
    seconds: float = 0.0


def chunk_documents(
    conn, collection_id: int, chunker: Chunker, *, batch_size: int = 500, logger=None, progress_every_s: float = 10.0,
) -> ChunkReport:
    """(Re)chunk every document whose text or chunker settings changed since it was last chunked.

    Documents go in batches of `batch_size`: their pages read in one query, their tokens counted
    in one tokenizer call, their chunks written with one COPY, all in one transaction. New chunks
    are written as `pending`; the old ones keep answering until the new ones are embedded. Vectors
    are keyed by what is embedded (header and text), so a chunk that survives a re-chunk or an edit
    keeps its embedding.
    """
    started = time.perf_counter()
    report = ChunkReport()
    pending = conn.execute(
        queries.load("ingestion/documents_to_chunk"),
        {"collection_id": collection_id, "fingerprint": chunker.fingerprint},
    ).fetchall()
    progress = Progress(logger or log, "documents", total=len(pending), every_s=progress_every_s)
    for first in range(0, len(pending), batch_size):
        rows = pending[first:first + batch_size]
        ids = [row["id"] for row in rows]
        pages: dict[int, list[Page]] = {document_id: [] for document_id in ids}
        for page in conn.execute(queries.load("ingestion/pages_of_documents"), {"ids": ids}):
            pages[page["document_id"]].append(
                Page(page["page"], page["text"], headings_from_json(page["headings"])))
        chunked = chunker.split_many([pages[document_id] for document_id in ids], [row["title"] for row in rows])
        with conn.transaction():
            # New chunks wait as `pending` beside the live ones until they are embedded (see promote).
            conn.execute("DELETE FROM chunks WHERE document_id = ANY(%s) AND pending", (ids,))
            with conn.cursor().copy(
                "COPY chunks (document_id, collection_id, ordinal, text, token_count, page, page_end,"
                " char_start, char_end, content_hash, pending, headings, header) FROM STDIN"
            ) as copy:
                for document_id, chunks in zip(ids, chunked):
                    for chunk in chunks:
                        copy.write_row((
                            document_id, collection_id, chunk.ordinal, chunk.text, chunk.token_count, chunk.page,
                            chunk.page_end, chunk.char_start, chunk.char_end, chunk.content_hash, True,
                            list(chunk.headings), chunk.header,
                        ))
            conn.execute(queries.load("ingestion/mark_chunked"), {
                "ids": ids, "chunked_as": [f"{row['content_hash']}:{chunker.fingerprint}" for row in rows]})
        for chunks in chunked:
            report.documents += 1
            report.chunks += len(chunks)
            report.tokens += sum(chunk.token_count for chunk in chunks)
            report.max_tokens = max([report.max_tokens, *(chunk.token_count for chunk in chunks)])
        progress.update(report.documents, lambda: (
            f"chunked {report.documents}/{len(pending)} documents ({report.chunks} chunks)"))
    report.seconds = time.perf_counter() - started
    return report
