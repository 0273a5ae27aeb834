//! `GET /v1/insights/{name}`: the answer of one KPI query of `examples/sql/` on the local lake, as
//! the dashboard shows it. The queries are the files themselves (compiled in), so the dashboard and
//! a data engineer running `shopstream query --file examples/sql/...` see the same figures.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lake::query::{render, Format, LakeQuery};
use lake::Lake;

/// The queries served, by name (the file name without `.sql`).
pub const QUERIES: &[(&str, &str)] = &[
    ("revenue_by_day", include_str!("../../examples/sql/revenue_by_day.sql")),
    ("revenue_by_region", include_str!("../../examples/sql/revenue_by_region.sql")),
    ("basket_size", include_str!("../../examples/sql/basket_size.sql")),
    ("gross_margin", include_str!("../../examples/sql/gross_margin.sql")),
    ("funnel_by_day", include_str!("../../examples/sql/funnel_by_day.sql")),
    ("top_products", include_str!("../../examples/sql/top_products.sql")),
    ("attach_rate", include_str!("../../examples/sql/attach_rate.sql")),
    ("cross_sell_pairs", include_str!("../../examples/sql/cross_sell_pairs.sql")),
    ("recommendation_performance", include_str!("../../examples/sql/recommendation_performance.sql")),
    ("low_stock", include_str!("../../examples/sql/low_stock.sql")),
    ("overstock", include_str!("../../examples/sql/overstock.sql")),
    ("inventory_turns", include_str!("../../examples/sql/inventory_turns.sql")),
];

pub fn router(lake: Lake) -> Router {
    Router::new().route("/v1/insights/{name}", get(insight)).with_state(Arc::new(lake))
}

async fn insight(State(lake): State<Arc<Lake>>, Path(name): Path<String>) -> Response {
    let Some((_, sql)) = QUERIES.iter().find(|(n, _)| *n == name) else {
        let names: Vec<&str> = QUERIES.iter().map(|(n, _)| *n).collect();
        let reason = format!("no query named {name:?}; one of {}", names.join(", "));
        return (StatusCode::NOT_FOUND, Json(serde_json::json!({ "error": reason }))).into_response();
    };
    let answer = async {
        let q = LakeQuery::open(&lake).await?;
        let batches = q.sql(sql).await?;
        render(&batches, Format::Json)
    };
    match answer.await {
        Ok(rows) => {
            let rows: serde_json::Value = serde_json::from_str(&rows).unwrap_or_else(|_| serde_json::json!([]));
            let built = std::fs::metadata(lake.curated_dir().join(lake::curated::MANIFEST_FILE))
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| event_schema::Timestamp(d.as_millis() as i64).to_rfc3339());
            let mut response =
                Json(serde_json::json!({ "name": name, "built_at": built, "rows": rows })).into_response();
            response
                .headers_mut()
                .insert(axum::http::header::CACHE_CONTROL, "no-store".parse().expect("a header value"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, query = %name, "an insight query failed");
            let reason = format!("the lake cannot answer {name}: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "error": reason }))).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_query_of_examples_sql_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sql");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().to_str()?.strip_suffix(".sql").map(String::from))
            .collect();
        files.sort();
        let mut served: Vec<String> = super::QUERIES.iter().map(|(n, _)| n.to_string()).collect();
        served.sort();
        assert_eq!(files, served);
    }
}
