//! The shop's calls into the tracker, through the global the SDK's loader installs.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::catalog::{Product, CURRENCY};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = shopstream, js_name = track)]
    fn shopstream_track(event_type: &str, properties: &JsValue);
}

pub fn track(event_type: &str, properties: &JsValue) {
    shopstream_track(event_type, properties);
}

pub fn props(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// Product properties as the schema names them.
pub fn product(p: &Product, quantity: Option<u32>) -> JsValue {
    let mut pairs = vec![
        ("sku", p.sku.into()),
        ("name", p.name.into()),
        ("brand", p.brand.into()),
        ("category", p.category.into()),
        ("price", p.price.into()),
        ("currency", CURRENCY.into()),
    ];
    if let Some(q) = quantity {
        pairs.push(("quantity", q.into()));
    }
    props(&pairs)
}
