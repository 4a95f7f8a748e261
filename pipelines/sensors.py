"""Watch every collection's files: new, changed or deleted files (and uploads) request an ingest run."""

import json

import dagster as dg

from assets.ingestion.readers import files_fingerprint
from assets.partitions import collection_partitions, model_partitions
from assets.resources import PostgresResource
from llamapg import collections, models
from llamapg.settings import get_settings
from pipelines.jobs import ingest_collection_job


def register_watched_folders(conn, context: dg.SensorEvaluationContext) -> None:
    """Each sub-folder of a watch root is a collection of the same name."""
    for root in get_settings().watched_roots:
        if not root.is_dir():
            context.log.warning(f"watch root {root} does not exist")
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not collections.NAME_PATTERN.match(folder.name):
                context.log.warning(f"skipping {folder}: not a valid collection name (lowercase, digits, . _ -)")
            elif collections.find(conn, folder.name) is None:
                collections.register(conn, folder.name, str(folder))
                context.log.info(f"new collection {folder.name} from {folder}")


@dg.sensor(
    job=ingest_collection_job,
    minimum_interval_seconds=get_settings().sensor_interval_s,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests an ingest run for each collection whose files (or uploads) were added, changed "
    "or deleted since its last ingest (whatever ran it) and the last tick; sub-folders of LLAMAPG_WATCH_ROOTS "
    "become new collections.",
)
def source_files_sensor(context: dg.SensorEvaluationContext, postgres: PostgresResource) -> dg.SensorResult:
    settings = get_settings()
    previous = json.loads(context.cursor) if context.cursor else {}
    with postgres.connect() as conn:
        register_watched_folders(conn, context)
        known = collections.list_collections(conn)
        model_names = [m.name for m in models.list_models(conn) if m.status != "retired"]
        # A collection being ingested right now (by the CLI, an upload, another run) is looked at
        # again on a later tick, against what that ingest saw.
        busy = {c.name for c in known if collections.busy(conn, c, "documents")}
    fingerprints = {c.name: files_fingerprint(collections.source_roots(c, settings)) for c in known}
    ingested = {c.name: c.files_fingerprint for c in known}
    requests = [
        dg.RunRequest(partition_key=name, run_key=f"{name}:{fingerprint}", tags={"llamapg/trigger": "files changed"})
        for name, fingerprint in fingerprints.items()
        if name not in busy and fingerprint not in (ingested[name], previous.get(name))
    ]
    for name in busy:  # not requested: keep what the cursor had, so the next tick compares again
        fingerprints[name] = previous.get(name, "")
    new_collections = [n for n in fingerprints if not context.instance.has_dynamic_partition(collection_partitions.name, n)]
    new_models = [n for n in model_names if not context.instance.has_dynamic_partition(model_partitions.name, n)]
    partition_requests = []
    if new_collections:
        partition_requests.append(collection_partitions.build_add_request(new_collections))
    if new_models:
        partition_requests.append(model_partitions.build_add_request(new_models))
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=partition_requests, cursor=json.dumps(fingerprints)
    )
