//! The dimensions' sources: products and stores, as JSON lines in `reference/` (a store system's or
//! a generator's export), or the defaults the caller gives (the demo catalog).

use serde::{Deserialize, Serialize};

use crate::{io_err, write_atomic, Lake, LakeError};

/// A product, as `dim_product` has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProductRef {
    pub sku: String,
    pub name: String,
    pub category: String,
    pub brand: String,
    /// What one unit costs the retailer (for margin and inventory value).
    pub unit_cost: f64,
    pub list_price: f64,
    /// Units on hand before any count, in the online store (the demo catalog's stock).
    #[serde(default)]
    pub starting_stock: i64,
    #[serde(default)]
    pub reorder_point: i64,
}

/// A store, as `dim_store` has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoreRef {
    pub store_id: String,
    pub name: String,
    pub region: String,
    pub country: String,
    /// `online` or `physical`.
    pub kind: String,
}

/// Both sources.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reference {
    pub products: Vec<ProductRef>,
    pub stores: Vec<StoreRef>,
}

pub const PRODUCTS_FILE: &str = "products.jsonl";
pub const STORES_FILE: &str = "stores.jsonl";

impl Reference {
    /// The lake's `reference/` files where they exist, else `defaults`' lists.
    pub fn load(lake: &Lake, defaults: &Reference) -> Result<Reference, LakeError> {
        let dir = lake.reference_dir();
        Ok(Reference {
            products: read_lines(&dir.join(PRODUCTS_FILE))?.unwrap_or_else(|| defaults.products.clone()),
            stores: read_lines(&dir.join(STORES_FILE))?.unwrap_or_else(|| defaults.stores.clone()),
        })
    }

    /// Writes both lists to the lake's `reference/` (a generator's export).
    pub fn save(&self, lake: &Lake) -> Result<(), LakeError> {
        let dir = lake.reference_dir();
        write_atomic(&dir.join(PRODUCTS_FILE), to_lines(&self.products).as_bytes())?;
        write_atomic(&dir.join(STORES_FILE), to_lines(&self.stores).as_bytes())
    }
}

fn to_lines<T: Serialize>(rows: &[T]) -> String {
    let mut s = String::new();
    for r in rows {
        s.push_str(&serde_json::to_string(r).expect("plain data serialises"));
        s.push('\n');
    }
    s
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Result<Option<Vec<T>>, LakeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        rows.push(
            serde_json::from_str(line)
                .map_err(|e| LakeError::Data { path: path.to_path_buf(), message: format!("line {}: {e}", n + 1) })?,
        );
    }
    Ok(Some(rows))
}
