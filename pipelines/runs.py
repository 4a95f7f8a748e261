"""Materialize a selection of assets for one partition, in process, recorded in the instance."""

from __future__ import annotations

import logging
import sys

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from assets import ALL_ASSETS

RUN_JOB_NAME = "__ephemeral_asset_job__"
# A failed step's event carries Dagster's wrapper, the asset's exception and the stack trace; the
# caller reports the cause in one line (IngestError), so the console shows these only with tracebacks.
FAILURE_EVENTS = frozenset({"STEP_FAILURE", "RUN_FAILURE", "PIPELINE_FAILURE"})


class _RunFormatter(logging.Formatter):
    def __init__(self, tracebacks: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:  # Dagster's own text: the run, the step, the error and its stack trace
            return super().format(record)
        meta = getattr(record, "dagster_meta", None) or {}
        step = meta.get("step_key") or ""
        message = (meta.get("orig_message") or record.getMessage()).strip().split("\n\n")[0]
        record = logging.makeLogRecord({**record.__dict__, "msg": f"{step + ': ' if step else ''}{message}", "args": ()})
        return super().format(record)


class _DropFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        return getattr(event, "event_type_value", None) not in FAILURE_EVENTS


@dg.logger(
    config_schema={"log_level": dg.Field(str, default_value="INFO"), "tracebacks": dg.Field(bool, default_value=False)},
    description="One line per event for runs started from the CLI; failures with their stack trace only "
    "when `tracebacks` is set (`llamapg --debug`).",
)
def cli_console(init_context) -> logging.Logger:
    config = init_context.logger_config
    logger = logging.Logger("llamapg.run", level=config["log_level"].upper())
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_RunFormatter(config["tracebacks"]))
    if not config["tracebacks"]:
        handler.addFilter(_DropFailures())
    logger.addHandler(handler)
    return logger


def logging_config(log_level: str, tracebacks: bool = False) -> dict:
    """Run config for the console of a run started from the CLI."""
    return {"loggers": {"console": {"config": {"log_level": log_level, "tracebacks": tracebacks}}}}


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
    """Run the step; a failed step raises IngestError with the step's own error message.

    What `dg.materialize` does, with the CLI's console logger in place of Dagster's."""
    definitions = dg.Definitions(
        jobs=[dg.define_asset_job(name=RUN_JOB_NAME, selection=selection)],
        assets=ALL_ASSETS, resources=resources, loggers={"console": cli_console},
    )
    outcome = definitions.resolve_job_def(RUN_JOB_NAME).execute_in_process(
        run_config=run_config, instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False,
    )
    if not outcome.success:
        failure = next((event for event in outcome.all_events if event.is_step_failure), None)
        error = failure.step_failure_data.error if failure else None
        reason = root_cause(error) if error else "see the run in the Dagster UI"
        names = "+".join(asset.key.to_user_string() for asset in selection)
        raise IngestError(f"{names} [{partition_key}] failed: {reason}")
    return outcome


def root_cause(error: SerializableErrorInfo) -> str:
    """The asset's own error, in one line: Dagster wraps it in
    "Error occurred while executing op ...", which says nothing about why. llamapg's own errors
    are worded for the user and lose their class name; others keep it (it is part of the story)."""
    while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
        error = error.cause
    message = error.message.strip().splitlines()[0] if error.message.strip() else error.cls_name
    qualified, _, text = message.partition(": ")
    if text and qualified.split(".")[0] in ("llamapg", "assets", "pipelines"):
        return text
    return message


def materialization_metadata(outcome: dg.ExecuteInProcessResult) -> dict[str, dict]:
    """Each materialized asset's metadata values, by asset name."""
    return {
        event.materialization.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in outcome.get_asset_materialization_events()
    }
