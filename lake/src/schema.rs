//! The tables, defined once: their Arrow schemas (what the curated build writes and the local engine
//! reads) and, from the same definitions, the Athena DDL (`athena_ddl`).
//!
//! Facts are partitioned by `dt` (the UTC day received, a string, as in the raw layer); the columns
//! below are what each Parquet file holds. Times are `timestamp` in UTC with millisecond precision.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

/// The partition column of the raw layer and the facts.
pub const PARTITION: &str = "dt";

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

fn f(name: &str, t: DataType, nullable: bool) -> Field {
    Field::new(name, t, nullable)
}

/// A curated table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    FactEvents,
    FactSales,
    FactInventorySnapshot,
    DimProduct,
    DimStore,
    DimDate,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::FactEvents,
        Table::FactSales,
        Table::FactInventorySnapshot,
        Table::DimProduct,
        Table::DimStore,
        Table::DimDate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::FactEvents => "fact_events",
            Table::FactSales => "fact_sales",
            Table::FactInventorySnapshot => "fact_inventory_snapshot",
            Table::DimProduct => "dim_product",
            Table::DimStore => "dim_store",
            Table::DimDate => "dim_date",
        }
    }

    /// Facts are partitioned by `dt`; dimensions are one file.
    pub fn partitioned(self) -> bool {
        matches!(self, Table::FactEvents | Table::FactSales | Table::FactInventorySnapshot)
    }

    pub fn schema(self) -> SchemaRef {
        use DataType::*;
        let fields = match self {
            Table::FactEvents => vec![
                f("event_id", Utf8, false),
                f("event_type", Utf8, false),
                f("occurred_at", ts(), false),
                f("received_at", ts(), false),
                f("event_date", Date32, false),
                f("anonymous_id", Utf8, false),
                f("user_id", Utf8, true),
                f("session_id", Utf8, false),
                f("sku", Utf8, true),
                f("quantity", Int64, true),
                f("price", Float64, true),
                f("order_id", Utf8, true),
                f("revenue", Float64, true),
                f("currency", Utf8, true),
                f("store_id", Utf8, true),
                f("recommendation_id", Utf8, true),
                f("placement", Utf8, true),
                f("strategy", Utf8, true),
                f("search_query", Utf8, true),
                f("page_path", Utf8, true),
                f("country", Utf8, true),
                f("device", Utf8, true),
                f("bot", Boolean, false),
                f("properties", Utf8, true),
            ],
            Table::FactSales => vec![
                f("order_id", Utf8, false),
                f("line_number", Int32, false),
                f("sku", Utf8, false),
                f("quantity", Int64, false),
                f("unit_price", Float64, false),
                f("line_revenue", Float64, false),
                f("currency", Utf8, false),
                f("occurred_at", ts(), false),
                f("sale_date", Date32, false),
                f("store_id", Utf8, false),
                f("anonymous_id", Utf8, false),
                f("user_id", Utf8, true),
                f("session_id", Utf8, false),
                f("event_id", Utf8, false),
            ],
            Table::FactInventorySnapshot => vec![
                f("event_id", Utf8, false),
                f("store_id", Utf8, false),
                f("sku", Utf8, false),
                f("on_hand", Int64, false),
                f("reorder_point", Int64, true),
                f("occurred_at", ts(), false),
                f("snapshot_date", Date32, false),
            ],
            Table::DimProduct => vec![
                f("sku", Utf8, false),
                f("name", Utf8, false),
                f("category", Utf8, false),
                f("brand", Utf8, false),
                f("unit_cost", Float64, false),
                f("list_price", Float64, false),
                f("starting_stock", Int64, false),
                f("reorder_point", Int64, false),
            ],
            Table::DimStore => vec![
                f("store_id", Utf8, false),
                f("name", Utf8, false),
                f("region", Utf8, false),
                f("country", Utf8, false),
                f("kind", Utf8, false),
            ],
            Table::DimDate => vec![
                f("date_key", Date32, false),
                f("year", Int32, false),
                f("quarter", Int32, false),
                f("month", Int32, false),
                f("day", Int32, false),
                f("day_of_week", Int32, false),
                f("day_name", Utf8, false),
                f("iso_week", Int32, false),
                f("is_weekend", Boolean, false),
                f("fiscal_year", Int32, false),
                f("fiscal_quarter", Int32, false),
                f("fiscal_period", Int32, false),
            ],
        };
        Arc::new(Schema::new(fields))
    }
}

/// The raw layer's table, `events`: the enriched events' JSON as the ingest wrote it, with the
/// fields the questions need (others are read past). Times stay strings, as sent.
pub fn raw_events_schema() -> SchemaRef {
    use DataType::*;
    let s = |n: &str| f(n, Utf8, true);
    let item = Fields::from(vec![
        s("sku"),
        f("quantity", Int64, true),
        f("price", Float64, true),
        f("on_hand", Int64, true),
        f("reorder_point", Int64, true),
    ]);
    let properties = Fields::from(vec![
        s("sku"),
        f("quantity", Int64, true),
        f("price", Float64, true),
        s("currency"),
        s("order_id"),
        f("revenue", Float64, true),
        s("store_id"),
        s("cart_id"),
        s("query"),
        s("category"),
        s("recommendation_id"),
        s("placement"),
        s("strategy"),
        s("name"),
        f("items", List(Arc::new(Field::new("item", Struct(item), true))), true),
        f("skus", List(Arc::new(Field::new("item", Utf8, true))), true),
    ]);
    let page = Fields::from(vec![s("url"), s("path"), s("referrer"), s("title")]);
    let context = Fields::from(vec![f("page", Struct(page), true), s("locale"), s("user_agent")]);
    let edge = Fields::from(vec![s("site"), s("country"), s("device"), f("bot", Boolean, true)]);
    Arc::new(Schema::new(vec![
        s("event_id"),
        s("type"),
        s("occurred_at"),
        s("received_at"),
        s("anonymous_id"),
        s("user_id"),
        s("session_id"),
        f("properties", Struct(properties), true),
        f("context", Struct(context), true),
        f("edge", Struct(edge), true),
    ]))
}

fn athena_type(t: &DataType) -> String {
    match t {
        DataType::Utf8 => "string".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Int32 => "int".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::List(item) => format!("array<{}>", athena_type(item.data_type())),
        DataType::Struct(fields) => format!(
            "struct<{}>",
            fields.iter().map(|f| format!("{}:{}", f.name(), athena_type(f.data_type()))).collect::<Vec<_>>().join(",")
        ),
        other => unreachable!("no Athena type chosen for {other}"),
    }
}

/// The partition-projection properties of a table partitioned by `dt` (both the DDL and the Glue
/// tables use them; the location template is added by whoever knows the bucket).
fn projection_properties() -> [(&'static str, &'static str); 4] {
    [
        ("projection.enabled", "true"),
        ("projection.dt.type", "date"),
        ("projection.dt.format", "yyyy-MM-dd"),
        ("projection.dt.range", "2024-01-01,NOW"),
    ]
}

/// Every table of [`athena_ddl`] as the Glue catalog holds it, for the CDK stack (which knows the
/// bucket): `{"tables": [{"name", "location" (relative to the lake's root, ending in `/`),
/// "format" ("json" | "parquet"), "partitioned" (by `dt`, with partition projection), "columns":
/// [{"name", "type"}], "parameters"}]}`. `infra/lake-tables.json` holds it, and a test keeps the
/// two equal.
pub fn glue_tables() -> serde_json::Value {
    let columns = |schema: &Schema| {
        schema
            .fields()
            .iter()
            .map(|f| serde_json::json!({"name": f.name(), "type": athena_type(f.data_type())}))
            .collect::<Vec<_>>()
    };
    let parameters = |format: &str, partitioned: bool| {
        let mut p = serde_json::Map::new();
        p.insert("classification".into(), format.into());
        p.insert("EXTERNAL".into(), "TRUE".into());
        if format == "parquet" {
            p.insert("parquet.compression".into(), "ZSTD".into());
        }
        if partitioned {
            for (k, v) in projection_properties() {
                p.insert(k.into(), v.into());
            }
        }
        serde_json::Value::Object(p)
    };
    let mut tables = vec![serde_json::json!({
        "name": "events",
        "location": "raw/",
        "format": "json",
        "partitioned": true,
        "columns": columns(&raw_events_schema()),
        "parameters": parameters("json", true),
    })];
    for table in Table::ALL {
        tables.push(serde_json::json!({
            "name": table.name(),
            "location": format!("curated/{}/", table.name()),
            "format": "parquet",
            "partitioned": table.partitioned(),
            "columns": columns(&table.schema()),
            "parameters": parameters("parquet", table.partitioned()),
        }));
    }
    serde_json::json!({ "tables": tables })
}

/// The Athena (Glue catalog) DDL of every table over a bucket's `s3://…/` prefix (`location` ends
/// with `/`): `events` over `raw/` as JSON lines, the curated tables as Parquet, facts partitioned
/// by `dt` with partition projection (no crawler, no `MSCK REPAIR`).
pub fn athena_ddl(location: &str) -> String {
    let mut out = String::new();
    let columns = |schema: &Schema| {
        schema
            .fields()
            .iter()
            .map(|f| format!("  `{}` {}", f.name(), athena_type(f.data_type())))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    let projection = |prefix: &str| {
        format!(
            "PARTITIONED BY (`dt` string)\n{{format}}\nLOCATION '{location}{prefix}/'\nTBLPROPERTIES (\n{}  'storage.location.template' = '{location}{prefix}/dt=${{dt}}/'{{extra}}\n);\n",
            projection_properties().iter().map(|(k, v)| format!("  '{k}' = '{v}',\n")).collect::<String>()
        )
    };
    out.push_str(&format!("CREATE EXTERNAL TABLE IF NOT EXISTS events (\n{}\n)\n", columns(&raw_events_schema())));
    out.push_str(
        &projection("raw")
            .replace("{format}", "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\nWITH SERDEPROPERTIES ('ignore.malformed.json' = 'true')")
            .replace("{extra}", ""),
    );
    for table in Table::ALL {
        out.push('\n');
        out.push_str(&format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {} (\n{}\n)\n",
            table.name(),
            columns(&table.schema())
        ));
        if table.partitioned() {
            out.push_str(
                &projection(&format!("curated/{}", table.name()))
                    .replace("{format}", "STORED AS PARQUET")
                    .replace("{extra}", ",\n  'parquet.compression' = 'ZSTD'"),
            );
        } else {
            out.push_str(&format!("STORED AS PARQUET\nLOCATION '{location}curated/{}/';\n", table.name()));
        }
    }
    out
}
