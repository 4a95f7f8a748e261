"""Materialize the asset graph for one collection, as the Dagster UI would."""

from __future__ import annotations

import dagster as dg

from assets import ALL_ASSETS, chunks, embeddings, hnsw_index, raw_documents
from pipelines.ingest import register_partitions
from pipelines.resources import default_resources

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
        result = dg.materialize(
            ALL_ASSETS, selection=selection, partition_key=key, instance=instance,
            resources=default_resources(), run_config=run_config if chunks in selection else None,
        )
        assert result.success
        for event in result.get_asset_materialization_events():
            m = event.materialization
            metadata[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return metadata
