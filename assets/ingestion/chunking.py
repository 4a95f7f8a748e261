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

from assets.ingestion.readers import Page
from llamapg import queries
from llamapg.progress import Progress

log = logging.getLogger(__name__)

PAGE_SEPARATOR = "\n\n"
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

    @property
    def content_hash(self) -> bytes:
        return hashlib.sha256(self.text.encode()).digest()


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
    """RecursiveCharacterTextSplitter measuring length with `tokenizer`.

    `chunk_size` counts the model's special tokens ([CLS], [SEP]) too, because they share the
    model's input window: 256 here means the chunk fills all-MiniLM-L6-v2's window exactly.
    """

    def __init__(self, tokenizer, chunk_size: int, chunk_overlap: int, tokenizer_name: str) -> None:
        self.tokenizer = tokenizer
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
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
        self.splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size - self.special_tokens, chunk_overlap=chunk_overlap,
            length_function=functools.lru_cache(maxsize=1 << 16)(lambda piece: self._count([piece])[0]),
        )
        self.fingerprint = f"{tokenizer_name}:{chunk_size}:{chunk_overlap}"

    def _count(self, texts: list[str]) -> list[int]:
        """Tokens of each text, special tokens not included, in one call."""
        if self._backend is not None:
            return [len(encoding.ids) for encoding in self._backend.encode_batch(texts, add_special_tokens=False)]
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]]

    def split(self, pages: Sequence[Page]) -> list[Chunk]:
        return self.split_many([pages])[0]

    def split_many(self, documents: Sequence[Sequence[Page]]) -> list[list[Chunk]]:
        """Chunks of each document, their tokens counted for the whole batch in one call. A document
        that fits the window is one chunk (what the splitter returns for it: the text, stripped) and
        never goes through the splitter."""
        joined = [_join(pages) for pages in documents]
        bodies = [text.strip() for text, _ in joined]
        limit = self.chunk_size - self.special_tokens
        pieces = [
            [body] if body and count <= limit else self.splitter.split_text(text) if body else []
            for (text, _), body, count in zip(joined, bodies, self._count(bodies))
        ]
        counts = iter(self._count([piece for document in pieces for piece in document]))
        result = []
        for pages, (text, page_starts), texts in zip(documents, joined, pieces):
            chunks = []
            for ordinal, (chunk_text, start) in enumerate(zip(texts, _offsets(text, texts))):
                end = start + len(chunk_text)
                chunks.append(Chunk(
                    ordinal=ordinal,
                    text=chunk_text,
                    token_count=next(counts) + self.special_tokens,
                    page=_page_at(pages, page_starts, start),
                    page_end=_page_at(pages, page_starts, max(start, end - 1)),
                    char_start=start,
                    char_end=end,
                ))
            result.append(chunks)
        return result


def _offsets(text: str, pieces: Sequence[str]) -> list[int]:
    """Where each chunk starts in `text`. Chunks come in order and each starts after the one before;
    langchain's own start_index assumes an overlap counted in characters, so it is not used."""
    offsets, cursor = [], 0
    for piece in pieces:
        found = text.find(piece, cursor)
        if found < 0:  # the splitter strips whitespace; fall back to a search from the start
            found = max(text.find(piece), 0)
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
    are keyed by chunk text, so text that survives a re-chunk or an edit keeps its embedding.
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
            pages[page["document_id"]].append(Page(page["page"], page["text"]))
        chunked = chunker.split_many([pages[document_id] for document_id in ids])
        with conn.transaction():
            # New chunks wait as `pending` beside the live ones until they are embedded (see promote).
            conn.execute("DELETE FROM chunks WHERE document_id = ANY(%s) AND pending", (ids,))
            with conn.cursor().copy(
                "COPY chunks (document_id, collection_id, ordinal, text, token_count, page, page_end,"
                " char_start, char_end, content_hash, pending) FROM STDIN"
            ) as copy:
                for document_id, chunks in zip(ids, chunked):
                    for chunk in chunks:
                        copy.write_row((
                            document_id, collection_id, chunk.ordinal, chunk.text, chunk.token_count, chunk.page,
                            chunk.page_end, chunk.char_start, chunk.char_end, chunk.content_hash, True,
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
