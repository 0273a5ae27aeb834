//! The demo catalog over HTTP, built once when the router is made:
//!
//! - `GET /v1/products?category=<slug>&q=<text>`: `200 {"products": [...], "categories": [...]}`,
//!   products in catalog order, optionally only one category's and only those whose name, brand,
//!   category or a tag contains `q` (ignoring case); other parameters are ignored.
//! - `GET /v1/products/{sku}`: the product, or `404 {"error": "not_found", "reason"}`.
//! - `GET /images/products/{sku}.svg`: the product's pictogram, or the same `404`.
//!
//! Answers may be cached (`public`: five minutes for JSON, a day for images): the catalog changes
//! only with a new build. The unfiltered list is the same body the AWS deployment uploads as the
//! static file `v1/products` ([`catalog::static_files`]).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use catalog::{Category, Product};
use serde_json::json;

/// `Cache-Control` of the JSON answers.
const JSON_CACHE: &str = "public, max-age=300";
/// `Cache-Control` of the pictograms.
const IMAGE_CACHE: &str = "public, max-age=86400";

struct Catalog {
    products: Vec<Product>,
    by_sku: HashMap<String, usize>,
    categories: Vec<Category>,
    /// The unfiltered list, serialised once.
    all: Bytes,
}

/// The catalog's routes, over the catalog generated once here.
pub fn router() -> Router {
    let products = catalog::products();
    let categories = catalog::categories();
    let all = Bytes::from(catalog::list_json(&products, &categories));
    let by_sku = products.iter().enumerate().map(|(i, p)| (p.sku.clone(), i)).collect();
    let state = Arc::new(Catalog { products, by_sku, categories, all });
    Router::new()
        .route("/v1/products", get(list))
        .route("/v1/products/{sku}", get(one))
        // The router cannot match a parameter followed by a suffix, so the handler strips `.svg`.
        .route("/images/products/{file}", get(image))
        .with_state(state)
}

impl Catalog {
    fn get(&self, sku: &str) -> Option<&Product> {
        self.by_sku.get(sku).map(|&i| &self.products[i])
    }
}

async fn list(State(catalog): State<Arc<Catalog>>, Query(params): Query<Vec<(String, String)>>) -> Response {
    let param = |name: &str| params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (category, query) = (param("category"), param("q"));
    let body = if category.is_none() && query.is_none() {
        catalog.all.clone()
    } else {
        let matching = catalog
            .products
            .iter()
            .filter(|p| category.is_none_or(|c| p.category_slug == c))
            .filter(|p| query.is_none_or(|q| p.matches_query(q)));
        Bytes::from(catalog::list_json(matching, &catalog.categories))
    };
    cached("application/json", JSON_CACHE, body)
}

async fn one(State(catalog): State<Arc<Catalog>>, Path(sku): Path<String>) -> Response {
    match catalog.get(&sku) {
        Some(product) => {
            let mut response = Json(product).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(JSON_CACHE));
            response
        }
        None => not_found(&sku),
    }
}

async fn image(State(catalog): State<Arc<Catalog>>, Path(file): Path<String>) -> Response {
    match file.strip_suffix(".svg").and_then(|sku| catalog.get(sku)) {
        Some(product) => cached("image/svg+xml", IMAGE_CACHE, catalog::image_svg(product).into()),
        None => not_found(file.strip_suffix(".svg").unwrap_or(&file)),
    }
}

fn cached(content_type: &'static str, cache_control: &'static str, body: Bytes) -> Response {
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache_control)),
    ];
    (headers, body).into_response()
}

/// The error body the ingest and recommendations APIs use: `{"error": <code>, "reason": <text>}`.
fn not_found(sku: &str) -> Response {
    let sku: String = sku.chars().take(64).collect();
    let reason = format!("no product with sku {sku:?}");
    let mut response = (StatusCode::NOT_FOUND, Json(json!({"error": "not_found", "reason": reason}))).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
