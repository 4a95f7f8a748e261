"""The Dagster code location loaded by workspace.yaml (`dagster dev`, `llamapg dagster`)."""

import dagster as dg

from assets import ALL_ASSETS
from pipelines.jobs import ALL_JOBS
from pipelines.resources import default_resources

defs = dg.Definitions(assets=ALL_ASSETS, jobs=ALL_JOBS, resources=default_resources())
