"""embeddings, per collection x embedding model."""


import dagster as dg

from assets.embeddings.vectors import embed_collection
from assets.ingestion.assets import chunks
from assets.partitions import collection_model_partitions, each_collection
from assets.resources import EmbedderResource, PostgresResource
from llamapg import collections, models, quality


# Like AutomationCondition.eager() without "newly missing": new chunks upstream are embedded by
# every registered model, but registering a model (a new partition key) backfills nothing by itself.
EMBED_NEW_CHUNKS = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("chunks changed (a new model is never backfilled by itself)")


AUTOMATION_TAG = "dagster/from_automation_condition"


# A multi-asset only so that it can be subset: a run that embeds nothing (an automated run for a
# model not yet backfilled) then ends as a success with its checks skipped; a plain asset with
# check specs must report every check or fail (dagster-io/dagster#27399).
@dg.multi_asset(
    name="embeddings",
    partitions_def=collection_model_partitions,
    specs=[dg.AssetSpec(
        "embeddings",
        deps=[dg.AssetDep(chunks, partition_mapping=each_collection)],
        automation_condition=EMBED_NEW_CHUNKS,
        skippable=True,
        group_name="embeddings",
        kinds={"pgvector", "python"},
        description="One vector per distinct chunk text and model, written in batches with COPY. Only texts "
        "without a vector for this model are embedded, so a re-run resumes and unchanged text is reused.",
    )],
    check_specs=[
        dg.AssetCheckSpec("all_chunks_embedded", asset="embeddings", blocking=True,
                          description="Every chunk of the collection has a vector for the model."),
        dg.AssetCheckSpec("dimensions_match", asset="embeddings", blocking=True,
                          description="The model's vector column has the model's registered dimensions."),
    ],
    can_subset=True,
    # Production instances cap how many runs call the embedding model at once (deploy/dagster.yaml).
    pool="embedding_api",
)
def embeddings(context: dg.AssetExecutionContext, postgres: PostgresResource, embedders: EmbedderResource):
    keys = context.partition_key.keys_by_dimension
    with postgres.connect() as conn:
        collection = collections.get(conn, keys["collection"])
        model = models.get(conn, keys["model"])
        automated = context.run.tags.get(AUTOMATION_TAG) == "true"
        if automated and model.status != "active" and quality.awaits_backfill(conn, model, collection.id):
            context.log.info(
                f"{model.name} has not been backfilled for {collection.name}: nothing embedded automatically "
                f"(run `llamapg models backfill {model.name}` or a backfill from the UI); checks skipped"
            )
            return
        with collections.exclusive(conn, collection, f"embeddings:{model.name}", logger=context.log):
            report = embed_collection(
                conn,
                collection.id,
                model,
                embedders.for_model(model),
                batch_size=embedders.resolved_batch_size(),
                in_flight=embedders.requests_in_flight(model),
                logger=context.log,
            )
        missing, total = quality.missing_embeddings(conn, model, collection.id)
        dimensions_ok, column_type = quality.vector_column_matches(conn, model)
    context.log.info(
        f"{collection.name} x {model.name}: embedded {report.embedded} chunks in {report.seconds:.1f}s "
        f"({report.vectors_per_second:.1f}/s)"
    )
    yield dg.MaterializeResult(
        metadata={
            "model": model.name,
            "dimensions": model.dimensions,
            "vectors_written": report.embedded,
            "tokens_embedded": report.tokens,
            "chunks_over_model_limit": report.over_limit,
            "chunks_pending": report.chunks_pending,
            "chunks_reused": report.chunks_reused,
            "chunks_reembedded": report.chunks_pending - report.chunks_reused,
            "documents_promoted": report.documents_promoted,
            "orphan_vectors_removed": report.orphans_removed,
            "vectors_per_second": round(report.vectors_per_second, 1),
            "duration_s": round(report.seconds, 2),
            # The collection's HNSW index is built here after its first load, then maintained.
            "index_built": report.index is not None,
            "index_build_s": round(report.index.seconds, 2) if report.index else 0.0,
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="all_chunks_embedded",
                passed=missing == 0,
                metadata={"collection": collection.name, "model": model.name, "chunks": total, "missing": missing},
            ),
            dg.AssetCheckResult(
                check_name="dimensions_match",
                passed=dimensions_ok,
                metadata={"collection": collection.name, "model": model.name, "column": column_type,
                          "registered": f"vector({model.dimensions})"},
            ),
        ],
    )
