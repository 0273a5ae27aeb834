//! The local server's composition: the ingest routes plus the built storefront, as one `Router`.

use std::path::Path;

use axum::response::Html;
use axum::Router;
use ingest_domain::Ingest;
use tower_http::services::{ServeDir, ServeFile};

/// The page served when the storefront has not been built.
const NOT_BUILT: &str = "<!doctype html><title>Shopstream</title><h1>Shopstream is running</h1>\
<p>The storefront is not built in this site directory. Run <code>cargo xtask demo</code>, or \
<code>cargo xtask build</code> and restart with <code>--site storefront/dist</code>.</p>";

/// Ingest routes first; everything else is the single-page storefront from `site_dir`, with
/// unknown paths answered by its `index.html` so client-side routes survive a reload.
pub fn local_app(ingest: Ingest, site_dir: &Path) -> Router {
    let api = ingest_http::router(ingest);
    let index = site_dir.join("index.html");
    if index.is_file() {
        api.fallback_service(ServeDir::new(site_dir).fallback(ServeFile::new(index)))
    } else {
        api.fallback(|| async { Html(NOT_BUILT) })
    }
}
