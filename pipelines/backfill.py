"""A model's embeddings for every collection, then its index: the backfill behind a model swap.

The same partitions a backfill launched from the Dagster UI covers (embeddings[*, model], then
hnsw_index[model]), run in this process and recorded in the instance with a backfill tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from assets import embeddings, hnsw_index
from assets.partitions import model_partitions
from llamapg import collections, db, models, quality
from llamapg.bootstrap import prepare_database
from llamapg.embedders import credentials_problem
from llamapg.settings import Settings, get_settings
from pipelines.ingest import register_partitions
from pipelines.resources import default_resources
from pipelines.runs import IngestError, logging_config, materialization_metadata, materialize_step


@dataclass
class BackfillResult:
    model: str
    vectors_written: int = 0
    collections: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    # What would stop `llamapg models activate` once the backfill is over; empty when it may.
    problems: list[str] = field(default_factory=list)


def _collection_names(settings: Settings) -> list[str]:
    with db.connection(prepare_database(settings)) as conn:
        return [c.name for c in collections.list_collections(conn)]


def backfill_model(
    name: str, *, instance: dg.DagsterInstance, settings: Settings | None = None, log_level: str = "INFO"
) -> BackfillResult:
    """Embed every collection with `name`, then build its indexes. Collections registered while
    the backfill runs are embedded too: the list is read again until no collection is left out."""
    settings = settings or get_settings()
    with db.connection(prepare_database(settings)) as conn:
        model = models.get(conn, name)
    if model.status == "retired":
        raise IngestError(f"model {name!r} is retired")
    problem = credentials_problem(model.provider, model.name, model.base_url, settings)
    if problem:
        raise IngestError(problem)
    register_partitions(instance, None, [name])
    result = BackfillResult(model=name)
    tags = {"llamapg/backfill": name}
    run_config = logging_config(log_level, settings.debug)
    resources = default_resources(settings.database_url)

    def run(selection, key) -> None:
        outcome = materialize_step(instance, selection, key, resources=resources, run_config=run_config, tags=tags)
        for evaluation in outcome.get_asset_check_evaluations():
            result.checks[f"{evaluation.check_name}[{key}]"] = evaluation.passed
        for metadata in materialization_metadata(outcome).values():
            result.vectors_written += metadata.get("vectors_written", 0)

    while todo := [c for c in _collection_names(settings) if c not in result.collections]:
        for collection in todo:
            register_partitions(instance, collection, [])
            run([embeddings], dg.MultiPartitionKey({"collection": collection, "model": name}))
            result.collections.append(collection)
    run([hnsw_index], name)
    with db.connection(prepare_database(settings)) as conn:
        result.problems = quality.readiness(conn, models.get(conn, name))
    return result


def forget_model_partition(instance: dg.DagsterInstance, name: str) -> None:
    if instance.has_dynamic_partition(model_partitions.name, name):
        instance.delete_dynamic_partition(model_partitions.name, name)
