//! SQL over the lake with an embedded engine (DataFusion): `events` (the raw JSON lines) and the
//! curated tables, under the same names and columns as in Athena.

use std::sync::Arc;

use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{JsonReadOptions, ParquetReadOptions, SessionConfig, SessionContext};

use crate::schema::{raw_events_schema, Table, PARTITION};
use crate::{Lake, LakeError};

/// How to print a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// A query session over one lake.
pub struct LakeQuery {
    ctx: SessionContext,
    /// Tables with no files yet (registered empty).
    pub empty_tables: Vec<&'static str>,
}

impl LakeQuery {
    /// Registers every table of `lake`; a table with no files yet is empty (with its columns).
    pub async fn open(lake: &Lake) -> Result<LakeQuery, LakeError> {
        let config = SessionConfig::new().with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        let mut empty_tables = Vec::new();
        let partition = vec![(PARTITION.to_string(), DataType::Utf8)];

        let raw = lake.raw_dir();
        let raw_schema = raw_events_schema();
        if has_files(&raw, ".jsonl") {
            let options = JsonReadOptions::default()
                .schema(&raw_schema)
                .file_extension(".jsonl")
                .table_partition_cols(partition.clone());
            ctx.register_json("events", &dir_url(&raw), options).await?;
        } else {
            register_empty(&ctx, "events", with_partition(&raw_schema, true))?;
            empty_tables.push("events");
        }
        for table in Table::ALL {
            let dir = lake.curated_dir().join(table.name());
            let schema = table.schema();
            if has_files(&dir, ".parquet") {
                let mut options = ParquetReadOptions::default().schema(&schema);
                if table.partitioned() {
                    options = options.table_partition_cols(partition.clone());
                }
                ctx.register_parquet(table.name(), &dir_url(&dir), options).await?;
            } else {
                register_empty(&ctx, table.name(), with_partition(&table.schema(), table.partitioned()))?;
                empty_tables.push(table.name());
            }
        }
        Ok(LakeQuery { ctx, empty_tables })
    }

    /// Runs one SQL statement and collects its result.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, LakeError> {
        let df = self.ctx.sql(sql).await?;
        Ok(df.collect().await?)
    }
}

fn dir_url(dir: &std::path::Path) -> String {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    format!("{}/", abs.display())
}

fn has_files(dir: &std::path::Path, ext: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            false
        } else if e.path().is_dir() {
            has_files(&e.path(), ext)
        } else {
            name.ends_with(ext)
        }
    })
}

fn with_partition(schema: &arrow::datatypes::Schema, partitioned: bool) -> arrow::datatypes::SchemaRef {
    let mut fields: Vec<arrow::datatypes::FieldRef> = schema.fields().iter().cloned().collect();
    if partitioned {
        fields.push(Arc::new(arrow::datatypes::Field::new(PARTITION, DataType::Utf8, false)));
    }
    Arc::new(arrow::datatypes::Schema::new(fields))
}

fn register_empty(ctx: &SessionContext, name: &str, schema: arrow::datatypes::SchemaRef) -> Result<(), LakeError> {
    let table = MemTable::try_new(schema, vec![vec![]])?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Renders a result as a text table, CSV (with a header) or a JSON array of objects.
pub fn render(batches: &[RecordBatch], format: Format) -> Result<String, LakeError> {
    match format {
        Format::Table => Ok(arrow::util::pretty::pretty_format_batches(batches)?.to_string() + "\n"),
        Format::Csv => {
            let mut out = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
                for b in batches {
                    w.write(b)?;
                }
            }
            if batches.is_empty() {
                return Ok(String::new());
            }
            Ok(String::from_utf8_lossy(&out).into_owned())
        }
        Format::Json => {
            let mut out = Vec::new();
            {
                let mut w = arrow::json::ArrayWriter::new(&mut out);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                w.write_batches(&refs)?;
                w.finish()?;
            }
            let s = String::from_utf8_lossy(&out).into_owned();
            Ok(if s.is_empty() { "[]\n".into() } else { s + "\n" })
        }
    }
}
