"""Materialize the asset graph for one collection, as the Dagster UI would."""

from __future__ import annotations

import dagster as dg

from assets import chunks, embeddings, hnsw_index, raw_documents
from pipelines.ingest import register_partitions
from pipelines.resources import default_resources
from pipelines.runs import materialization_metadata, materialize_step

MODEL = "all-minilm-l6-v2"


def materialize_collection(instance, name: str, run_config: dict | None = None, model: str = MODEL) -> dict[str, dict]:
    """Run the four assets for one collection and return their materialization metadata by asset."""
    register_partitions(instance, name, [model])
    metadata: dict[str, dict] = {}
    for selection, key in (
        ([raw_documents, chunks], name),
        ([embeddings], dg.MultiPartitionKey({"collection": name, "model": model})),
        ([hnsw_index], model),
    ):
        outcome = materialize_step(instance, selection, key, resources=default_resources(),
                                   run_config=run_config if chunks in selection else None)
        metadata.update(materialization_metadata(outcome))
    return metadata
