//! Parquet written through polars' own Arrow and Parquet layers rather than its `ParquetWriter`,
//! which always writes strings as Arrow `Utf8View` (`string_view`): readers older than Arrow 15
//! (pyarrow before 16, many Spark and warehouse loaders) reject that. Here text is `LargeUtf8`
//! (plain UTF-8 byte arrays in the file) and times are `Timestamp(µs, "UTC")` (INT64
//! `TIMESTAMP(MICROS, isAdjustedToUTC=true)`), so every reader sees real timestamps.

use std::path::Path;
use std::sync::Arc;

use polars_arrow::array::{Array, BooleanArray, PrimitiveArray, Utf8Array};
use polars_arrow::datatypes::{ArrowDataType, ArrowSchema, Field, TimeUnit};
use polars_arrow::record_batch::RecordBatchT;
use polars_parquet::write::{
    CompressionOptions, FileWriter, RowGroupIterator, StatisticsOptions, Version, WriteOptions,
    get_dtype_encoding,
};

use super::{Table, Values};

/// The Arrow type and array of one column.
fn column(v: &Values) -> (ArrowDataType, Box<dyn Array>) {
    match v {
        Values::Str(v) => (
            ArrowDataType::LargeUtf8,
            v.iter()
                .map(Option::as_deref)
                .collect::<Utf8Array<i64>>()
                .boxed(),
        ),
        Values::Time(v) => {
            let dtype = ArrowDataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
            let micros: PrimitiveArray<i64> = v
                .iter()
                .map(|t| t.as_deref().and_then(crate::timefmt::parse_rfc3339))
                .collect();
            (dtype.clone(), micros.to(dtype).boxed())
        }
        Values::U64(v) => (
            ArrowDataType::UInt64,
            PrimitiveArray::<u64>::from_vec(v.clone()).boxed(),
        ),
        Values::F64(v) => (
            ArrowDataType::Float64,
            v.iter().collect::<PrimitiveArray<f64>>().boxed(),
        ),
        Values::Bool(v) => (ArrowDataType::Boolean, BooleanArray::from_slice(v).boxed()),
    }
}

/// Writes `t` to `path` as one row group, zstd-compressed, with statistics.
pub(super) fn write(t: &Table, path: &Path) -> anyhow::Result<()> {
    let (fields, arrays): (Vec<Field>, Vec<Box<dyn Array>>) = t
        .columns
        .iter()
        .map(|(name, v)| {
            let (dtype, array) = column(v);
            (Field::new((*name).into(), dtype, true), array)
        })
        .unzip();
    let schema: ArrowSchema = fields.into_iter().map(|f| (f.name.clone(), f)).collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        version: Version::V1,
        compression: CompressionOptions::Zstd(None),
        data_page_size: None,
    };
    let encodings = schema
        .iter_values()
        .map(|f| get_dtype_encoding(&f.dtype))
        .collect();
    let batch = RecordBatchT::try_new(t.height, Arc::new(schema.clone()), arrays)?;
    let groups =
        RowGroupIterator::try_new(std::iter::once(Ok(batch)), &schema, options, encodings)?;
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut writer = FileWriter::try_new(file, schema, options)?;
    // An empty table is a schema with no row group.
    if t.height > 0 {
        for group in groups {
            writer.write(t.height as u64, group?)?;
        }
    }
    writer.end(None)?;
    std::io::Write::flush(&mut writer.into_inner())?;
    Ok(())
}
