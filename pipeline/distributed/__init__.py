"""Past one machine: the Ray engine of `run-pipeline --engine ray`.

`engine.run_pipeline_ray` is the driver (ingest and extraction as Ray Datasets,
the merge of the workers' Parquet shards into DuckDB); `worker` is what runs on
the Ray workers; `shards` how a shard is laid out and written atomically.
Importing this package does not import Ray: `engine.import_ray` does, when a
run asks for it.
"""
