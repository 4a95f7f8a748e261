"""Jobs over the asset graph, one per partitioning."""

import dagster as dg

from assets import chunks, embeddings, hnsw_index, raw_documents
from assets.partitions import collection_model_partitions, collection_partitions, model_partitions

ingest_collection_job = dg.define_asset_job(
    "ingest_collection",
    selection=dg.AssetSelection.assets(raw_documents, chunks),
    partitions_def=collection_partitions,
    description="Read a collection's source directory and (re)chunk what changed.",
)

embed_collection_job = dg.define_asset_job(
    "embed_collection",
    selection=dg.AssetSelection.assets(embeddings),
    partitions_def=collection_model_partitions,
    description="Embed a collection's new chunks with one model.",
)

build_index_job = dg.define_asset_job(
    "build_hnsw_index",
    selection=dg.AssetSelection.assets(hnsw_index),
    partitions_def=model_partitions,
    description="Build or refresh a model's HNSW index.",
)

ALL_JOBS = [ingest_collection_job, embed_collection_job, build_index_job]
