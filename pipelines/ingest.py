"""Ingest a collection by materializing its assets through Dagster: the same assets the UI runs,
recorded in the same instance, so every CLI ingest shows up as materializations in the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets import chunks, embeddings, hnsw_index, raw_documents
from assets.partitions import collection_partitions, model_partitions
from llamapg import collections, db, models
from llamapg.bootstrap import prepare_database
from llamapg.settings import Settings, get_settings
from pipelines.resources import default_resources
from pipelines.runs import IngestError, logging_config, materialization_metadata, materialize_step

__all__ = ["IngestError", "IngestResult", "ingest", "register_partitions"]


@dataclass
class IngestResult:
    collection: str
    model: str
    metadata: dict[str, dict] = field(default_factory=dict)


def _run_config(log_level: str, chunk_size: int | None, chunk_overlap: int | None, tracebacks: bool) -> dict:
    chunking = {key: value for key, value in (("chunk_size", chunk_size), ("chunk_overlap", chunk_overlap)) if value}
    config: dict = logging_config(log_level, tracebacks)
    if chunking:
        config["ops"] = {"chunks": {"config": chunking}}
    return config


def register_partitions(instance: dg.DagsterInstance, collection: str | None, model_names: list[str]) -> None:
    if collection and not instance.has_dynamic_partition(collection_partitions.name, collection):
        instance.add_dynamic_partitions(collection_partitions.name, [collection])
    missing = [name for name in model_names if not instance.has_dynamic_partition(model_partitions.name, name)]
    if missing:
        instance.add_dynamic_partitions(model_partitions.name, missing)


def ingest(
    name: str,
    source: Path,
    *,
    instance: dg.DagsterInstance,
    settings: Settings | None = None,
    log_level: str = "INFO",
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
    context_headers: bool | None = None,
) -> IngestResult:
    """Register the collection, then materialize raw_documents+chunks, embeddings and hnsw_index.
    `context_headers` turns the collection's chunk headers on or off (None keeps its setting)."""
    settings = settings or get_settings()
    source = source.expanduser().resolve()
    if not source.is_dir():
        raise IngestError(f"not a directory: {source}")
    url = prepare_database(settings)
    with db.connection(url) as conn:
        collections.register(conn, name, str(source), context_headers=context_headers)
        model = models.active(conn)
        registered = [m.name for m in models.list_models(conn) if m.status != "retired"]
    if model is None:
        raise IngestError("no embedding model is active; activate one with `llamapg models activate NAME`")
    register_partitions(instance, name, registered)

    resources = default_resources(settings.database_url)
    run_config = _run_config(log_level, chunk_size, chunk_overlap, settings.debug)
    steps = [
        ([raw_documents, chunks], name),
        ([embeddings], dg.MultiPartitionKey({"collection": name, "model": model.name})),
        ([hnsw_index], model.name),
    ]
    result = IngestResult(collection=name, model=model.name)
    for selection, partition_key in steps:
        step_config = run_config if chunks in selection else {"loggers": run_config["loggers"]}
        outcome = materialize_step(instance, selection, partition_key, resources=resources, run_config=step_config,
                                   tags={"llamapg/source": "cli"})
        result.metadata.update(materialization_metadata(outcome))
    return result
