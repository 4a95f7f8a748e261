"""The context given to the answer: the best sources that fit a token budget, with overlapping
chunks of the same document merged into one cited block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from llamapg.headers import context_header
from llamapg.retrieval import Source


@dataclass
class ContextBlock:
    number: int
    document_id: int
    source: str
    title: str | None
    page: int | None
    start: int
    end: int
    text: str
    chunk_ids: list[int] = field(default_factory=list)
    tokens: int = 0
    headings: list[str] = field(default_factory=list)


def _merge(block: ContextBlock, source: Source) -> bool:
    """Extend `block` with an overlapping or adjacent chunk of the same document."""
    if source.document_id != block.document_id or source.char_start > block.end or source.char_end < block.start:
        return False
    if source.char_start < block.start:
        block.text = source.text[: block.start - source.char_start] + block.text
        block.start = source.char_start
        block.page = source.page if source.page is not None else block.page
    if source.char_end > block.end:
        block.text = block.text + source.text[len(source.text) - (source.char_end - block.end):]
        block.end = source.char_end
    block.chunk_ids.append(source.chunk_id)
    return True


def build_context(
    sources: Sequence[Source], budget_tokens: int, count_tokens: Callable[[str], int]
) -> tuple[list[ContextBlock], dict[int, int]]:
    """Blocks in rank order within the budget, and each included chunk's citation number."""
    blocks: list[ContextBlock] = []
    used = 0
    for source in sources:
        merged_into = next((b for b in blocks if _merge_if_fits(b, source, budget_tokens - used, count_tokens)), None)
        if merged_into is not None:
            used = sum(b.tokens for b in blocks)
            continue
        tokens = count_tokens(source.text)
        if blocks and used + tokens > budget_tokens:
            continue  # a later, shorter source may still fit
        blocks.append(ContextBlock(
            number=len(blocks) + 1, document_id=source.document_id, source=source.source, title=source.title,
            page=source.page, start=source.char_start, end=source.char_end, text=source.text,
            chunk_ids=[source.chunk_id], tokens=tokens, headings=list(source.headings),
        ))
        used += tokens
    citations = {chunk_id: block.number for block in blocks for chunk_id in block.chunk_ids}
    return blocks, citations


def _merge_if_fits(block: ContextBlock, source: Source, room: int, count_tokens) -> bool:
    before = (block.text, block.start, block.end, block.page, list(block.chunk_ids))
    if not _merge(block, source):
        return False
    tokens = count_tokens(block.text)
    if tokens - block.tokens > room:
        block.text, block.start, block.end, block.page, block.chunk_ids = before
        return False
    block.tokens = tokens
    return True


def format_context(blocks: Sequence[ContextBlock]) -> str:
    parts = []
    for block in blocks:
        # The block's label is the chunk's context header: what it is about, where it sits.
        where = context_header(block.title or block.source, block.headings) + (
            f", page {block.page}" if block.page else "")
        parts.append(f"[{block.number}] ({where})\n{block.text}")
    return "\n\n".join(parts)
