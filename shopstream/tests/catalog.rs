//! The catalog API of the local server over HTTP: the list and its filters, one product, the
//! pictograms, the 404s and the cache headers.

mod support;

use std::collections::HashMap;

use serde_json::Value;
use support::Server;

/// `GET path`: (status, headers by lowercase name, body).
fn get(server: &Server, path: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
    let (status, headers, body) = server.request("GET", path, &[], b"");
    assert!(!headers.contains_key("transfer-encoding"), "answers have a known length: {headers:?}");
    (status, headers, body)
}

fn get_json(server: &Server, path: &str) -> (u16, HashMap<String, String>, Value) {
    let (status, headers, body) = get(server, path);
    let json = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e})"));
    (status, headers, json)
}

fn skus(list: &Value) -> Vec<&str> {
    list["products"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect()
}

#[test]
fn the_list_has_every_product_in_catalog_order_and_every_category() {
    let server = Server::start("list");
    let (status, headers, body) = get(&server, "/v1/products");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    // The same bytes the AWS deployment uploads as `v1/products`.
    let static_list = catalog::static_files().into_iter().find(|f| f.path == "v1/products").unwrap();
    assert_eq!(body, static_list.body);
    let list: catalog::ProductList = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.products, catalog::products());
    assert_eq!(list.categories, catalog::categories());
    // Unknown parameters change nothing.
    let (status, _, other) = get(&server, "/v1/products?page=2&sort=price");
    assert_eq!((status, other), (200, body));
}

#[test]
fn the_list_filters_by_category_and_query() {
    let server = Server::start("filters");
    let all = catalog::products();

    let (status, headers, tents) = get_json(&server, "/v1/products?category=tents");
    assert_eq!(status, 200);
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let expected: Vec<&str> = all.iter().filter(|p| p.category_slug == "tents").map(|p| p.sku.as_str()).collect();
    assert!(expected.len() >= 20);
    assert_eq!(skus(&tents), expected);
    assert_eq!(tents["categories"].as_array().unwrap().len(), catalog::categories().len(), "all categories, always");

    // Case-insensitive, over name, brand, category and tags.
    let (_, _, waterproof) = get_json(&server, "/v1/products?q=WaterProof");
    let expected: Vec<&str> = all.iter().filter(|p| p.matches_query("waterproof")).map(|p| p.sku.as_str()).collect();
    assert!(expected.len() > 5 && expected.len() < all.len(), "{}", expected.len());
    assert_eq!(skus(&waterproof), expected);
    let (_, _, by_brand) = get_json(&server, "/v1/products?q=basecamp%20supply");
    let expected: Vec<&str> = all.iter().filter(|p| p.brand == "Basecamp Supply").map(|p| p.sku.as_str()).collect();
    assert!(!expected.is_empty());
    assert_eq!(skus(&by_brand), expected);

    // Both filters at once, and filters that match nothing.
    let (_, _, both) = get_json(&server, "/v1/products?category=shoes&q=waterproof&utm_source=x");
    let expected: Vec<&str> = all
        .iter()
        .filter(|p| p.category_slug == "shoes" && p.matches_query("waterproof"))
        .map(|p| p.sku.as_str())
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(skus(&both), expected);
    for path in ["/v1/products?category=nope", "/v1/products?q=zzzz%20nothing"] {
        let (status, _, none) = get_json(&server, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(skus(&none), Vec::<&str>::new(), "{path}");
    }
}

#[test]
fn one_product_by_sku_and_a_404_with_a_reason() {
    let server = Server::start("one");
    let product = catalog::product("jackets-003").unwrap();
    let (status, headers, body) = get(&server, "/v1/products/jackets-003");
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(serde_json::from_slice::<catalog::Product>(&body).unwrap(), product);

    let (status, headers, error) = get_json(&server, "/v1/products/jackets-999");
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(error["error"], "not_found");
    assert_eq!(error["reason"], "no product with sku \"jackets-999\"");
}

#[test]
fn pictograms_are_svg_cached_for_a_day() {
    let server = Server::start("images");
    let product = catalog::product("tents-002").unwrap();
    let (status, headers, body) = get(&server, &product.image_url);
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert_eq!(headers["cache-control"], "public, max-age=86400");
    assert_eq!(String::from_utf8(body).unwrap(), catalog::image_svg(&product));

    for path in ["/images/products/tents-999.svg", "/images/products/tents-002", "/images/products/tents-002.png"] {
        let (status, _, error) = get_json(&server, path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(error["error"], "not_found", "{path}");
    }
}
