//! `GET /v1/kpis`: the live figures of the local stack, for the storefront's dashboard.

use axum::Router;
use sqlite_store::SqliteEventLog;

pub fn router(_log: SqliteEventLog) -> Router {
    Router::new()
}
