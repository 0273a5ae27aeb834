//! `GET /config.json`: what the storefront needs to know about this stack at run time (in AWS the
//! same file is part of the site, written by the deployment). Today: the Cognito user pool shoppers
//! sign in with, if any.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The storefront's run-time configuration.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SiteConfig {
    /// `None`: sign-in is disabled (the storefront says so).
    pub auth: Option<AuthSettings>,
}

/// A Cognito user pool and app client the storefront signs shoppers in with.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthSettings {
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    /// Cognito's API as the browser calls it (the regional endpoint, or an emulator's URL).
    pub endpoint: String,
    /// An account ready to sign in with, shown on the sign-in page (local demo only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<DemoAccount>,
    /// Whether sign-up codes are really sent (false against an emulator, which takes any code).
    pub codes_sent: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
}

pub fn router(config: SiteConfig) -> Router {
    Router::new().route(
        "/config.json",
        get(move || {
            let config = config.clone();
            async move { ([(header::CACHE_CONTROL, "no-store")], Json(config)).into_response() }
        }),
    )
}
