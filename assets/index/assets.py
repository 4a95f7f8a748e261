"""hnsw_index, per embedding model."""


from typing import Optional

import dagster as dg

from assets.embeddings.assets import embeddings
from assets.index.hnsw import ensure_hnsw_index
from assets.partitions import each_model, model_partitions
from assets.resources import PostgresResource
from llamapg import models
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
    description="The model's cosine HNSW index, built CONCURRENTLY so that reads and writes go on. "
    "Kept as is when valid with the same parameters; rebuilt beside the old one otherwise.",
)
def hnsw_index(context: dg.AssetExecutionContext, config: HnswConfig, postgres: PostgresResource) -> dg.MaterializeResult:
    settings = get_settings()
    m = config.m or settings.hnsw_m
    ef_construction = config.ef_construction or settings.hnsw_ef_construction
    with postgres.connect() as conn:
        model = models.get(conn, context.partition_key)
        report = ensure_hnsw_index(conn, model, m=m, ef_construction=ef_construction)
    context.log.info(
        f"{model.name}: index {report.action} over {report.vectors} vectors "
        f"({report.size_bytes / 1e6:.1f} MB) in {report.seconds:.1f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "index": model.hnsw_index_name,
            "action": report.action,
            "vectors": report.vectors,
            "index_size": dg.MetadataValue.int(report.size_bytes),
            "index_size_mb": round(report.size_bytes / 1e6, 2),
            "build_time_s": round(report.seconds, 2),
            "m": report.m,
            "ef_construction": report.ef_construction,
        }
    )
