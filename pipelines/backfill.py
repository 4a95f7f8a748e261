"""A model's embeddings for every collection, then its index: the backfill behind a model swap.

The same partitions a backfill launched from the Dagster UI covers (embeddings[*, model], then
hnsw_index[model]), run in this process and recorded in the instance with a backfill tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from assets import embeddings, hnsw_index
from assets.partitions import model_partitions
from llamapg import collections, db, models
from llamapg.bootstrap import prepare_database
from llamapg.settings import Settings, get_settings
from pipelines.ingest import register_partitions
from pipelines.resources import default_resources
from pipelines.runs import IngestError, materialization_metadata, materialize_step


@dataclass
class BackfillResult:
    model: str
    vectors_written: int = 0
    collections: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)


def backfill_model(
    name: str, *, instance: dg.DagsterInstance, settings: Settings | None = None, log_level: str = "INFO"
) -> BackfillResult:
    settings = settings or get_settings()
    with db.connection(prepare_database(settings)) as conn:
        model = models.get(conn, name)
        names = [c.name for c in collections.list_collections(conn)]
    if model.status == "retired":
        raise IngestError(f"model {name!r} is retired")
    register_partitions(instance, None, [name])
    for collection in names:
        register_partitions(instance, collection, [])
    result = BackfillResult(model=name, collections=names)
    tags = {"llamapg/backfill": name}
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    steps = [([embeddings], dg.MultiPartitionKey({"collection": c, "model": name})) for c in names]
    steps.append(([hnsw_index], name))
    resources = default_resources(settings.database_url)
    for selection, key in steps:
        outcome = materialize_step(instance, selection, key, resources=resources, run_config=run_config, tags=tags)
        for evaluation in outcome.get_asset_check_evaluations():
            result.checks[f"{evaluation.check_name}[{key}]"] = evaluation.passed
        for metadata in materialization_metadata(outcome).values():
            result.vectors_written += metadata.get("vectors_written", 0)
    return result


def forget_model_partition(instance: dg.DagsterInstance, name: str) -> None:
    if instance.has_dynamic_partition(model_partitions.name, name):
        instance.delete_dynamic_partition(model_partitions.name, name)
