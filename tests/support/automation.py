"""Drive the sensors and declarative automation the way the Dagster daemon would, in process."""

from __future__ import annotations

import dagster as dg

from assets import ALL_ASSETS, chunks, raw_documents
from pipelines.definitions import defs
from pipelines.resources import default_resources
from pipelines.sensors import source_files_sensor


# The tags the daemon puts on runs it launches for declarative automation.
AUTOMATION_TAGS = {"dagster/from_automation_condition": "true", "dagster/auto_materialize": "true"}


class Daemon:
    """One sensor cursor and one automation cursor, as the daemon keeps them between ticks."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self.instance = instance
        self.sensor_cursor: str | None = None
        self.automation_cursor = None
        self.runs: list[tuple[str, str]] = []
        # The first automation tick only records where it starts, like the daemon's first tick.
        self._automation_tick()

    def tick(self) -> list[dg.RunRequest]:
        """A sensor tick, its runs, then automation ticks until nothing more is requested."""
        with dg.build_sensor_context(
            instance=self.instance, cursor=self.sensor_cursor, resources=default_resources()
        ) as context:
            result = source_files_sensor(context)
        self.sensor_cursor = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        for request in result.run_requests:
            self._run([raw_documents, chunks], request.partition_key)
        while self._automation_tick():
            pass
        return result.run_requests

    def ingest_run(self, collection: str) -> None:
        """A run of the ingest job for one collection (as a schedule or an upload starts it), then
        automation ticks until nothing more is requested."""
        self._run([raw_documents, chunks], collection)
        while self._automation_tick():
            pass

    def _automation_tick(self) -> bool:
        evaluation = dg.evaluate_automation_conditions(defs=defs, instance=self.instance, cursor=self.automation_cursor)
        self.automation_cursor = evaluation.cursor
        for asset in ALL_ASSETS:
            if evaluation.get_num_requested(asset.key):
                for partition_key in sorted(evaluation.get_requested_partitions(asset.key)):
                    self._run([asset], partition_key, tags=AUTOMATION_TAGS)
        return evaluation.total_requested > 0

    def _run(self, selection, partition_key, tags: dict | None = None) -> None:
        outcome = dg.materialize(
            ALL_ASSETS, selection=selection, partition_key=partition_key, instance=self.instance,
            resources=default_resources(), tags=tags,
        )
        assert outcome.success
        self.runs.append(("+".join(a.key.to_user_string() for a in selection), str(partition_key)))
