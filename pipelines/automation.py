"""Declarative automation: embeddings follow their chunks."""

import dagster as dg

from assets import embeddings

embed_new_chunks_sensor = dg.AutomationConditionSensorDefinition(
    "embed_new_chunks",
    target=dg.AssetSelection.assets(embeddings),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Embeds a collection's new chunks, with every registered model, after each ingest run.",
)
