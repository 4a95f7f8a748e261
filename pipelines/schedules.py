"""A nightly full re-scan of every collection, to catch anything the sensor missed."""

import dagster as dg

from assets.resources import PostgresResource
from llamapg import collections
from llamapg.settings import get_settings
from pipelines.jobs import ingest_collection_job


@dg.schedule(
    job=ingest_collection_job,
    cron_schedule=get_settings().rescan_cron,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Re-scans every collection (LLAMAPG_RESCAN_CRON); unchanged documents are skipped by hash.",
)
def nightly_rescan(context: dg.ScheduleEvaluationContext, postgres: PostgresResource):
    with postgres.connect() as conn:
        names = [c.name for c in collections.list_collections(conn)]
    stamp = context.scheduled_execution_time.isoformat()
    return [
        dg.RunRequest(partition_key=name, run_key=f"rescan:{name}:{stamp}", tags={"llamapg/trigger": "nightly rescan"})
        for name in names
    ]
