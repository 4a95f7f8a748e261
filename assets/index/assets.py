"""hnsw_index, per embedding model."""


from datetime import datetime, timezone
from typing import Optional

import dagster as dg

from assets.embeddings.assets import embeddings
from assets.partitions import each_model, model_partitions
from assets.resources import PostgresResource
from llamapg import models, quality
from llamapg.indexes import ensure_hnsw_index, hnsw_index_ready
from llamapg.settings import get_settings


class HnswConfig(dg.Config):
    """Unset means LLAMAPG_HNSW_M / LLAMAPG_HNSW_EF_CONSTRUCTION."""

    m: Optional[int] = None
    ef_construction: Optional[int] = None


@dg.asset(
    partitions_def=model_partitions,
    deps=[dg.AssetDep(embeddings, partition_mapping=each_model)],
    group_name="index",
    kinds={"pgvector"},
    check_specs=[
        dg.AssetCheckSpec("index_valid", asset="hnsw_index", blocking=True,
                          description="The HNSW index exists and PostgreSQL marks it valid."),
        dg.AssetCheckSpec("recall_at_10", asset="hnsw_index", blocking=True,
                          description=f"Recall@10 of the index against exact search is at least {quality.RECALL_TARGET}."),
    ],
    description="The model's cosine HNSW indexes, one per collection's partition, built CONCURRENTLY so "
    "that reads and writes go on. Kept as is when valid with the same parameters; rebuilt beside the old "
    "one otherwise.",
)
def hnsw_index(context: dg.AssetExecutionContext, config: HnswConfig, postgres: PostgresResource) -> dg.MaterializeResult:
    settings = get_settings()
    m = config.m or settings.hnsw_m
    ef_construction = config.ef_construction or settings.hnsw_ef_construction
    with postgres.connect() as conn:
        model = models.get(conn, context.partition_key)
        report = ensure_hnsw_index(conn, model, m=m, ef_construction=ef_construction)
        valid = hnsw_index_ready(conn, model)
        recall, probes = quality.hnsw_recall(conn, model, ef_search=settings.hnsw_ef_search) if valid else (0.0, 0)
        models.record_checks(conn, model.name, {
            "index_valid": valid, "recall_at_10": round(recall, 4), "checked_at": datetime.now(timezone.utc).isoformat(),
        })
        activated = maybe_activate(conn, model, settings.auto_activate, context)
    context.log.info(
        f"{model.name}: {report.partitions} collection indexes ({report.action}) over {report.vectors} vectors "
        f"({report.size_bytes / 1e6:.1f} MB) in {report.seconds:.1f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "action": report.action,
            "partitions": report.partitions,
            "vectors": report.vectors,
            "index_size": dg.MetadataValue.int(report.size_bytes),
            "index_size_mb": round(report.size_bytes / 1e6, 2),
            "build_time_s": round(report.seconds, 2),
            "m": report.m,
            "ef_construction": report.ef_construction,
            "activated": activated,
        },
        check_results=[
            dg.AssetCheckResult(check_name="index_valid", passed=valid,
                                metadata={"model": model.name, "partitions": report.partitions}),
            dg.AssetCheckResult(
                check_name="recall_at_10",
                passed=valid and recall >= quality.RECALL_TARGET,
                metadata={"model": model.name, "recall_at_10": round(recall, 4), "probes": probes,
                          "target": quality.RECALL_TARGET},
            ),
        ],
    )


def maybe_activate(conn, model, auto_activate: bool, context: dg.AssetExecutionContext) -> bool:
    """With LLAMAPG_AUTO_ACTIVATE, a model whose coverage and checks are complete takes over queries."""
    if not auto_activate or model.status == "active":
        return False
    problems = quality.readiness(conn, models.get(conn, model.name))
    if problems:
        context.log.info(f"{model.name} not activated: {'; '.join(problems)}")
        return False
    models.activate(conn, model.name)
    context.log.info(f"{model.name} is now the active model")
    return True
