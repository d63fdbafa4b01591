"""Lake I/O: keys, schemas, the Parquet store and the write-audit-publish step."""
