use std::collections::{HashMap, HashSet};

use super::*;

fn cents(x: f64) -> i64 {
    let c = (x * 100.0).round();
    assert!((x * 100.0 - c).abs() < 1e-6, "{x} has more than two decimals");
    c as i64
}

#[test]
fn there_are_enough_products_and_every_category_has_twenty() {
    let products = products();
    assert!(products.len() >= 240, "{}", products.len());
    let cats = categories();
    assert!((8..=10).contains(&cats.len()), "{}", cats.len());
    for c in &cats {
        let n = products.iter().filter(|p| p.category_slug == c.slug).count();
        assert!(n >= 20, "{}: {n} products", c.slug);
        assert!(!c.name.is_empty() && c.description.ends_with('.'), "{c:?}");
    }
    let slugs: HashSet<&str> = cats.iter().map(|c| c.slug.as_str()).collect();
    assert_eq!(slugs.len(), cats.len(), "category slugs are unique");
    for p in &products {
        let c = cats.iter().find(|c| c.slug == p.category_slug).unwrap_or_else(|| panic!("{}: no category", p.sku));
        assert_eq!(p.category, c.name, "{}", p.sku);
    }
}

#[test]
fn skus_and_names_are_unique() {
    let products = products();
    let skus: HashSet<&str> = products.iter().map(|p| p.sku.as_str()).collect();
    let names: HashSet<&str> = products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(skus.len(), products.len());
    assert_eq!(names.len(), products.len());
}

#[test]
fn the_catalog_is_the_same_on_every_call() {
    assert_eq!(products(), products());
    assert_eq!(categories(), categories());
    assert_eq!(static_files(), static_files());
}

#[test]
fn the_catalog_is_the_same_in_every_build() {
    // Stored events name products by SKU, so the generated data must not drift between builds or
    // targets. If you change the word lists on purpose, update these.
    let products = products();
    let first = &products[0];
    assert_eq!((first.sku.as_str(), first.name.as_str()), ("shoes-001", "Horizon Recycled Trail Running Shoe"));
    let json = String::from_utf8(list_json(&products, &categories())).unwrap();
    assert_eq!(fnv1a(&json), 17_730_837_250_465_024_422, "the catalog's JSON changed");
}

#[test]
fn skus_urls_and_images_follow_their_formats() {
    for p in products() {
        let (slug, number) = p.sku.rsplit_once('-').unwrap();
        assert_eq!(slug, p.category_slug);
        assert!(number.len() == 3 && number.bytes().all(|b| b.is_ascii_digit()), "{}", p.sku);
        assert_eq!(p.url, format!("/p/{}", p.sku));
        assert_eq!(p.image_url, format!("/images/products/{}.svg", p.sku));
        assert_eq!(p.currency, "EUR");
        assert!(p.colour.len() == 7 && p.colour.starts_with('#'), "{}", p.colour);
        assert!(p.colour[1..].bytes().all(|b| b.is_ascii_hexdigit()), "{}", p.colour);
        assert!((2..=3).contains(&p.tags.len()), "{}: {:?}", p.sku, p.tags);
        let sentences = p.description.matches(". ").count() + 1;
        assert!(p.description.ends_with('.') && sentences <= 2, "{}", p.description);
        assert!(p.name.split(' ').count() >= 3, "{}", p.name);
    }
}

#[test]
fn prices_costs_ratings_and_stock_are_plausible() {
    let products = products();
    let mut endings = HashSet::new();
    for p in &products {
        let (price, cost) = (cents(p.price), cents(p.unit_cost));
        assert!((500..=100_000).contains(&price), "{}: {}", p.sku, p.price);
        endings.insert(price % 100);
        assert!(matches!(price % 100, 0 | 50 | 90 | 95 | 99), "{}: {}", p.sku, p.price);
        assert!(cost * 100 >= price * 40 && cost * 100 <= price * 65, "{}: {} of {}", p.sku, p.unit_cost, p.price);
        assert!((3.5..=5.0).contains(&p.rating), "{}: {}", p.sku, p.rating);
        assert!(((p.rating * 10.0).round() - p.rating * 10.0).abs() < 1e-4, "{}: {}", p.sku, p.rating);
        assert!(p.stock == 0 || p.stock <= p.reorder_point || (10..=80).contains(&p.stock), "{}", p.sku);
        assert!(p.reorder_point > 0 && p.reorder_point < 10, "{}", p.sku);
    }
    assert!(endings.len() >= 4, "price endings vary: {endings:?}");
    let n = products.len() as f64;
    let out = products.iter().filter(|p| p.stock == 0).count() as f64 / n;
    let low = products.iter().filter(|p| p.stock > 0 && p.stock <= p.reorder_point).count() as f64 / n;
    assert!((0.04..=0.06).contains(&out), "out of stock: {out}");
    assert!((0.09..=0.11).contains(&low), "at or below the reorder point: {low}");
    // Prices follow the type: a tent costs more than a pair of socks.
    let mean = |slug: &str| {
        let prices: Vec<f64> = products.iter().filter(|p| p.category_slug == slug).map(|p| p.price).collect();
        prices.iter().sum::<f64>() / prices.len() as f64
    };
    assert!(mean("tents") > 5.0 * mean("socks"));
}

#[test]
fn brands_cover_the_catalog_with_category_affinity() {
    let products = products();
    let mut by_brand: HashMap<&str, HashSet<&str>> = HashMap::new();
    for p in &products {
        by_brand.entry(&p.brand).or_default().insert(&p.category_slug);
    }
    assert!(by_brand.len() >= 8, "{by_brand:?}");
    assert!(by_brand.values().all(|cats| cats.len() <= 4), "every brand keeps to a few categories: {by_brand:?}");
}

#[test]
fn product_finds_by_sku() {
    let all = products();
    assert_eq!(product(&all[17].sku).as_ref(), Some(&all[17]));
    assert_eq!(product("shoes-999"), None);
    assert_eq!(product(""), None);
}

#[test]
fn queries_match_name_brand_category_and_tags_ignoring_case() {
    let p = &products()[0];
    assert!(p.matches_query(""));
    assert!(p.matches_query(&p.name.to_uppercase()));
    assert!(p.matches_query(&p.brand.to_lowercase()));
    assert!(p.matches_query(" shoes "));
    assert!(p.matches_query(&p.tags[0]));
    assert!(!p.matches_query("no such thing"));
    // Every word, in any order and any field.
    let two_fields = format!("{} {}", p.tags[0], p.brand.to_uppercase());
    assert!(p.matches_query(&two_fields));
    assert!(!p.matches_query(&format!("{} zzzz", p.brand)));
}

#[test]
fn products_survive_a_json_round_trip() {
    let products = products();
    for p in &products {
        let json = serde_json::to_string(p).unwrap();
        assert_eq!(&serde_json::from_str::<Product>(&json).unwrap(), p);
    }
    let list: ProductList = serde_json::from_slice(&list_json(&products, &categories())).unwrap();
    assert_eq!(list, ProductList { products, categories: categories() });
    // The wire names are the field names the storefront reads.
    let value: serde_json::Value = serde_json::to_value(product("shoes-001").unwrap()).unwrap();
    for key in [
        "sku",
        "name",
        "brand",
        "category",
        "category_slug",
        "price",
        "currency",
        "stock",
        "reorder_point",
        "unit_cost",
        "description",
        "image_url",
        "url",
        "colour",
        "rating",
        "tags",
    ] {
        assert!(value.get(key).is_some(), "{key}");
    }
    assert_eq!(value.as_object().unwrap().len(), 16);
}

#[test]
fn every_image_is_a_small_svg_titled_with_the_name() {
    for p in products() {
        let svg = image_svg(&p);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 400 300\""), "{}", p.sku);
        assert!(svg.ends_with("</svg>"), "{}", p.sku);
        assert!(svg.contains(r#"role="img""#), "{}", p.sku);
        assert!(svg.contains(&format!("<title>{}</title>", p.name)), "{}", p.sku);
        assert!(svg.len() < 3 * 1024, "{}: {} bytes", p.sku, svg.len());
        assert!(!svg.contains("http://") || svg.matches("http://").count() == 1, "only the namespace: {}", p.sku);
        assert!(!svg.contains("https://") && !svg.contains("<image") && !svg.contains("<script"), "{}", p.sku);
        assert_balanced(&svg);
    }
}

#[test]
fn images_differ_between_products_of_one_type() {
    let products = products();
    let shoes: HashSet<String> =
        products.iter().filter(|p| p.name.ends_with("Trail Running Shoe")).map(image_svg).collect();
    assert!(shoes.len() > 3);
}

#[test]
fn image_titles_are_escaped_and_odd_colours_fall_back() {
    let mut p = products()[0].clone();
    p.name = r#"Salt & Pepper <Trail> "Shoe" it's"#.into();
    p.colour = "red\"/><script>".into();
    let svg = image_svg(&p);
    assert!(svg.contains("<title>Salt &amp; Pepper &lt;Trail&gt; &quot;Shoe&quot; it&apos;s</title>"), "{svg}");
    assert!(!svg.contains("<script") && !svg.contains("<Trail"), "{svg}");
    assert_balanced(&svg);
    // A product from outside the catalog still gets a picture.
    p.category_slug = "unknown".into();
    p.sku = "x".into();
    let svg = image_svg(&p);
    assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    assert_balanced(&svg);
}

/// Every element is closed, in order: the SVG is well-formed XML as far as tags go.
fn assert_balanced(svg: &str) {
    let mut open = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "a '<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "in {svg}");
        } else if !tag.ends_with('/') {
            open.push(tag.split(' ').next().unwrap());
        }
        let quotes = tag.matches('"').count();
        assert_eq!(quotes % 2, 0, "unbalanced quotes: {tag}");
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
}

#[test]
fn static_files_mirror_the_api_paths() {
    let files = static_files();
    let products = products();
    assert_eq!(files.len(), 1 + 2 * products.len());
    assert_eq!(files[0].path, "v1/products");
    assert_eq!(files[0].content_type, "application/json");
    assert_eq!(files[0].body, list_json(&products, &categories()));
    let paths: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths.len(), files.len(), "paths are unique");
    for p in &products {
        let json = files.iter().find(|f| f.path == format!("v1/products/{}", p.sku)).unwrap();
        assert_eq!(json.content_type, "application/json");
        assert_eq!(&serde_json::from_slice::<Product>(&json.body).unwrap(), p);
        let svg = files.iter().find(|f| f.path == p.image_url.trim_start_matches('/')).unwrap();
        assert_eq!(svg.content_type, "image/svg+xml");
        assert_eq!(svg.body, image_svg(p).into_bytes());
    }
    assert!(files.iter().all(|f| !f.path.starts_with('/')));
}
