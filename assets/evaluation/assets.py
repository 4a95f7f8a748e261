"""retrieval_evaluation, per collection x embedding model: the quality of a model before cutover."""

import dagster as dg

from assets.embeddings.assets import embeddings
from assets.partitions import collection_model_partitions
from assets.resources import PostgresResource
from llamapg import eval_runner
from llamapg.evaluation import format_table, load_beir
from llamapg.rag import RagEngine
from llamapg.settings import get_settings


@dg.asset(
    partitions_def=collection_model_partitions,
    deps=[embeddings],
    group_name="evaluation",
    kinds={"python"},
    output_required=False,
    description="nDCG@10, Recall@100 and MRR@10 with latency p50/p99 for vector, lexical and hybrid "
    "retrieval with this model, on the BEIR dataset registered by `llamapg eval` for the collection. "
    "Compare a new model's partition with the active one's before `llamapg models activate`.",
)
def retrieval_evaluation(context: dg.AssetExecutionContext, postgres: PostgresResource):
    keys = context.partition_key.keys_by_dimension
    with postgres.connect() as conn:
        dataset_dir = eval_runner.dataset_of(conn, keys["collection"])
        if dataset_dir is None:
            context.log.info(f"{keys['collection']} has no evaluation dataset; register one with `llamapg eval`")
            return
        dataset = load_beir(dataset_dir)
        engine = RagEngine(postgres.settings())
        results = eval_runner.run(
            conn, engine, keys["collection"], dataset, model_name=keys["model"],
            progress=lambda mode, done, total: context.log.info(f"{mode}: {done}/{total} queries"),
        )
    context.log.info("\n" + format_table(results))
    metadata = {f"{mode}/{metric}": value for mode, metrics in results.items() for metric, value in metrics.items()}
    yield dg.MaterializeResult(metadata={
        **metadata,
        "dataset": dg.MetadataValue.path(str(dataset_dir)),
        "results": dg.MetadataValue.md("```\n" + format_table(results) + "\n```"),
        "hnsw_ef_search": get_settings().hnsw_ef_search,
    })
