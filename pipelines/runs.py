"""Materialize a selection of assets for one partition, in process, recorded in the instance."""

from __future__ import annotations

import dagster as dg

from assets import ALL_ASSETS


class IngestError(RuntimeError):
    """A step of an ingest or backfill failed; the message says which and why."""


def materialize_step(
    instance: dg.DagsterInstance,
    selection: list[dg.AssetsDefinition],
    partition_key: str | dg.MultiPartitionKey,
    *,
    resources: dict,
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run the step; a failed step raises IngestError with the step's own error message."""
    outcome = dg.materialize(
        ALL_ASSETS, selection=selection, partition_key=partition_key, instance=instance, resources=resources,
        run_config=run_config, tags=tags, raise_on_error=False,
    )
    if not outcome.success:
        failure = next((event for event in outcome.all_events if event.is_step_failure), None)
        error = failure.step_failure_data.error if failure else None
        reason = error.message.strip() if error else "see the run in the Dagster UI"
        names = "+".join(asset.key.to_user_string() for asset in selection)
        raise IngestError(f"{names} [{partition_key}] failed: {reason}")
    return outcome


def materialization_metadata(outcome: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Each materialized asset's metadata values, by asset name."""
    return {
        event.materialization.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in outcome.get_asset_materialization_events()
    }
