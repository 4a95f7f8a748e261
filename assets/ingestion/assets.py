"""raw_documents -> chunks, per collection."""


from typing import Optional

import dagster as dg

from assets.ingestion.chunking import Chunker, check_chunk_size, chunk_documents
from assets.ingestion.documents import sync_documents
from assets.ingestion.readers import ReadOptions, files_fingerprint
from assets.partitions import collection_partitions
from assets.resources import PostgresResource
from llamapg import collections, models, queries
from llamapg.embedders.local import load_tokenizer
from llamapg.models import BUNDLED_MINILM
from llamapg.settings import get_settings


@dg.asset(
    partitions_def=collection_partitions,
    group_name="ingestion",
    kinds={"postgres", "python"},
    description="Documents of the collection's source directory: PDFs by page (image-only pages by OCR), "
    "Word, PowerPoint by slide, e-mail, Markdown, text and HTML in any common encoding, and JSONL/Parquet "
    "datasets (one document per row). Unchanged files are skipped by content hash; "
    "a file that cannot be read fails alone, with its error stored on the document.",
)
def raw_documents(context: dg.AssetExecutionContext, postgres: PostgresResource) -> dg.MaterializeResult:
    with postgres.connect() as conn:
        collection = collections.get(conn, context.partition_key)
        roots = collections.source_roots(collection, get_settings())
        if not roots:
            raise dg.Failure(f"collection {collection.name!r} has no source directory and no uploads")
        with collections.exclusive(conn, collection, "documents", logger=context.log):
            seen_files = files_fingerprint(roots)  # before the scan: a file changed during it is seen next time
            report = sync_documents(conn, collection, roots, logger=context.log,
                                    options=ReadOptions.from_settings(get_settings()))
            conn.execute(queries.load("collections/record_files_fingerprint"),
                         {"fingerprint": seen_files, "collection_id": collection.id})
        counts = conn.execute(queries.load("ingestion/collection_counts"), {"collection_id": collection.id}).fetchone()
    context.log.info(
        f"{collection.name}: {report.seen} documents ({report.new} new, {report.changed} changed, "
        f"{report.skipped} unchanged, {report.failed} failed, {report.deleted} removed) in {report.seconds:.1f}s"
    )
    failures = "\n".join(f"| `{uri}` | {error} |" for uri, error in sorted(report.failures.items()))
    return dg.MaterializeResult(
        metadata={
            "sources": ", ".join(str(root) for _, root in roots),
            "documents_seen": report.seen,
            "documents_new": report.new,
            "documents_changed": report.changed,
            "documents_skipped": report.skipped,
            "documents_failed": report.failed,
            "documents_removed": report.deleted,
            "documents_failed_total": counts["failed"],
            "documents_total": counts["total"],
            "pages": report.pages,
            "pages_ocr": report.ocr_pages,
            "characters": report.characters,
            "duration_s": round(report.seconds, 2),
            "failures": dg.MetadataValue.md(
                f"| document | error |\n|---|---|\n{failures}" if failures else "none"
            ),
        }
    )


class ChunkingConfig(dg.Config):
    """Sizes in the embedding model's tokens; unset means LLAMAPG_CHUNK_SIZE / LLAMAPG_CHUNK_OVERLAP."""

    chunk_size: Optional[int] = None
    chunk_overlap: Optional[int] = None


def chunker_for(conn, chunk_size: int, chunk_overlap: int, context_headers: bool = True) -> Chunker:
    """Count tokens with the active model's tokenizer (the bundled MiniLM one for remote models),
    and refuse sizes beyond any registered model's input window."""
    registered = [m for m in models.list_models(conn) if m.status != "retired"]
    check_chunk_size(chunk_size, chunk_overlap, {m.name: m.max_input_tokens for m in registered})
    active = models.active(conn)
    tokenizer_model = active.model if active and active.provider == "local" else BUNDLED_MINILM
    return Chunker(load_tokenizer(tokenizer_model), chunk_size, chunk_overlap, tokenizer_name=tokenizer_model,
                   context_headers=context_headers)


def interrupted_documents(conn, collection: collections.Collection) -> int:
    """Documents chunked but never promoted, with no embedding run at work on the collection: the
    run that was to embed them was killed or cancelled."""
    stuck = conn.execute(queries.load("ingestion/processing_documents"),
                         {"collection_id": collection.id}).fetchone()["n"]
    if not stuck:
        return 0
    running = any(collections.busy(conn, collection, f"embeddings:{model.name}")
                  for model in models.list_models(conn) if model.status != "retired")
    return 0 if running else stuck


@dg.asset(
    partitions_def=collection_partitions,
    deps=[raw_documents],
    # Materialized only when chunks changed, so that unchanged re-scans trigger no embedding runs.
    output_required=False,
    group_name="ingestion",
    kinds={"postgres", "python"},
    description="Token-sized chunks (RecursiveCharacterTextSplitter, counted in the embedding model's "
    "own tokenizer) with page numbers, character offsets and a context header (title and heading path). "
    "Only new or changed documents are re-chunked.",
)
def chunks(context: dg.AssetExecutionContext, config: ChunkingConfig, postgres: PostgresResource):
    settings = get_settings()
    size = config.chunk_size or settings.chunk_size
    overlap = config.chunk_overlap if config.chunk_overlap is not None else settings.chunk_overlap
    with postgres.connect() as conn:
        collection = collections.get(conn, context.partition_key)
        chunker = chunker_for(conn, size, overlap, collection.context_headers)
        with collections.exclusive(conn, collection, "documents", logger=context.log):
            report = chunk_documents(conn, collection.id, chunker, logger=context.log)
            resumed = 0 if report.documents else interrupted_documents(conn, collection)
        total = conn.execute(queries.load("retrieval/collection_size"), {"collection_id": collection.id}).fetchone()
    if resumed:
        context.log.info(f"{collection.name}: {resumed} documents were left processing by an interrupted run; "
                         "materialized so that their embedding resumes")
    elif not report.documents:
        context.log.info(f"{collection.name}: no new or changed documents; chunks unchanged")
        return
    context.log.info(
        f"{collection.name}: chunked {report.documents} documents into {report.chunks} chunks "
        f"({report.tokens} tokens) in {report.seconds:.1f}s"
    )
    yield dg.MaterializeResult(
        metadata={
            "documents_chunked": report.documents,
            "chunks_written": report.chunks,
            "chunks_total": total["chunks"],
            "tokens_written": report.tokens,
            "max_chunk_tokens": report.max_tokens,
            "chunk_size": size,
            "chunk_overlap": overlap,
            "tokenizer": chunker.fingerprint.split(":")[0],
            "context_headers": chunker.context_headers,
            "documents_resumed": resumed,
            "duration_s": round(report.seconds, 2),
        }
    )
