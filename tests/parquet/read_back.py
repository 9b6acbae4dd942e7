"""Reads every Parquet file of an --export directory with pyarrow (a reader independent of the
polars that wrote it) and prints, as JSON, each table's Arrow schema and its values: timestamps
as integer microseconds since the epoch (UTC), everything else as pyarrow gives it."""
import json
import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq

out = {"pyarrow": pa.__version__, "tables": {}}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.parquet")):
    table = pq.read_table(path)
    columns = {}
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            column = column.cast(pa.int64())
        columns[field.name] = column.to_pylist()
    out["tables"][path.stem] = {
        "names": [f.name for f in table.schema],
        "types": {f.name: str(f.type) for f in table.schema},
        "rows": table.num_rows,
        "columns": columns,
    }
json.dump(out, sys.stdout)
