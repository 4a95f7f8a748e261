"""The Dagster code location loaded by workspace.yaml (`dagster dev`, `llamapg dagster`)."""

import dagster as dg

from assets import ALL_ASSETS
from pipelines.schedules import nightly_rescan
from pipelines.sensors import source_files_sensor
from pipelines.automation import embed_new_chunks_sensor
from pipelines.jobs import ALL_JOBS
from pipelines.resources import default_resources

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=ALL_JOBS,
    sensors=[source_files_sensor, embed_new_chunks_sensor],
    schedules=[nightly_rescan],
    resources=default_resources(),
)
