//! The local server's composition: the ingest routes plus the built storefront, as one `Router`.

use std::path::Path;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::{Html, Response};
use axum::Router;
use ingest_domain::Ingest;
use ingest_http::{Access, ClientIp};
use tower_http::services::{ServeDir, ServeFile};

/// The page served when the storefront has not been built.
const NOT_BUILT: &str = "<!doctype html><title>Shopstream</title><h1>Shopstream is running</h1>\
<p>The storefront is not built in this site directory. Run <code>cargo xtask demo</code>, or \
<code>cargo xtask build</code> and restart with <code>--site storefront/dist</code>.</p>";

/// Ingest routes first (behind `access`); everything else is the single-page storefront from
/// `site_dir`, with unknown paths answered by its `index.html` so client-side routes survive a reload.
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()`: the peer address becomes the
/// ingest's [`ClientIp`].
pub fn local_app(ingest: Ingest, access: Access, site_dir: &Path) -> Router {
    let api = ingest_http::router_with_access(ingest, access).layer(axum::middleware::from_fn(client_ip));
    let index = site_dir.join("index.html");
    if index.is_file() {
        api.fallback_service(ServeDir::new(site_dir).fallback(ServeFile::new(index)))
    } else {
        api.fallback(|| async { Html(NOT_BUILT) })
    }
}

async fn client_ip(mut request: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        request.extensions_mut().insert(ClientIp(peer.ip()));
    }
    next.run(request).await
}
