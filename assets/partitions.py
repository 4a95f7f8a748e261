"""Partitions: per collection, and per collection x embedding model.

Documents are tracked by content hash inside a partition, never as partitions of their own
(Dagster's UI and daemon slow down past ~100k partitions).
"""

import warnings

import dagster as dg

collection_partitions = dg.DynamicPartitionsDefinition(name="collection")
model_partitions = dg.DynamicPartitionsDefinition(name="embedding_model")
collection_model_partitions = dg.MultiPartitionsDefinition(
    {"collection": collection_partitions, "model": model_partitions}
)

# The mapping is marked beta; its behaviour here (one dimension's key -> the single-dimension asset)
# is the documented core of multi-partitioning, so the warning is noise for users of the CLI.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    each_collection = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="collection")
    each_model = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="model")
