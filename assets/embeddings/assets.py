"""embeddings, per collection x embedding model."""


import dagster as dg

from assets.embeddings.vectors import embed_collection
from assets.ingestion.assets import chunks
from assets.partitions import collection_model_partitions, each_collection
from assets.resources import EmbedderResource, PostgresResource
from llamapg import collections, models


@dg.asset(
    partitions_def=collection_model_partitions,
    deps=[dg.AssetDep(chunks, partition_mapping=each_collection)],
    group_name="embeddings",
    kinds={"pgvector", "python"},
    description="One vector per distinct chunk text and model, written in batches with COPY. Only texts "
    "without a vector for this model are embedded, so a re-run resumes and unchanged text is reused.",
)
def embeddings(
    context: dg.AssetExecutionContext, postgres: PostgresResource, embedders: EmbedderResource
) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    with postgres.connect() as conn:
        collection = collections.get(conn, keys["collection"])
        model = models.get(conn, keys["model"])
        report = embed_collection(
            conn,
            collection.id,
            model,
            embedders.for_model(model),
            batch_size=embedders.resolved_batch_size(),
            logger=context.log,
        )
    context.log.info(
        f"{collection.name} x {model.name}: embedded {report.embedded} chunks in {report.seconds:.1f}s "
        f"({report.vectors_per_second:.1f}/s)"
    )
    return dg.MaterializeResult(
        metadata={
            "model": model.name,
            "dimensions": model.dimensions,
            "vectors_written": report.embedded,
            "tokens_embedded": report.tokens,
            "chunks_over_model_limit": report.over_limit,
            "documents_ready": report.documents_ready,
            "vectors_per_second": round(report.vectors_per_second, 1),
            "duration_s": round(report.seconds, 2),
        }
    )
