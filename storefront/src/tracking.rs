//! The shop's calls into the tracker, through the global the SDK's loader installs
//! (`window.shopstream`, a queue until the SDK has loaded). The only module that calls it.

use catalog::Product;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::api;
use crate::state::Cart;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = shopstream, js_name = track)]
    fn shopstream_track(event_type: &str, properties: &JsValue);
    #[wasm_bindgen(js_namespace = shopstream, js_name = identify)]
    fn shopstream_identify(user_id: &str, traits: &JsValue);
    #[wasm_bindgen(js_namespace = shopstream, js_name = reset)]
    fn shopstream_reset();
    #[wasm_bindgen(js_namespace = shopstream, js_name = setAuthToken)]
    fn shopstream_set_auth_token(token: &JsValue);
}

/// Calls into the tracker, in order, after the current turn of the event loop: a route change
/// updates the router's signals before the browser's URL, and the tracker reads the page's URL and
/// title when an event is tracked, so an event tracked while a page renders waits for its URL.
type Call = Box<dyn FnOnce()>;

thread_local! {
    static QUEUE: RefCell<VecDeque<Call>> = const { RefCell::new(VecDeque::new()) };
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

fn later(call: impl FnOnce() + 'static) {
    QUEUE.with(|q| q.borrow_mut().push_back(Box::new(call)));
    if SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    let drain = Closure::once_into_js(|| {
        SCHEDULED.with(|s| s.set(false));
        while let Some(call) = QUEUE.with(|q| q.borrow_mut().pop_front()) {
            call();
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(drain.unchecked_ref(), 0);
    }
}

/// Tracks an event of the page being shown (after earlier calls, once the URL is the page's).
pub fn track(event_type: &str, properties: &JsValue) {
    let (event_type, properties) = (event_type.to_owned(), properties.clone());
    later(move || shopstream_track(&event_type, &properties));
}

/// Tracks an event now, with the current URL: for a click that is about to leave the page.
pub fn track_now(event_type: &str, properties: &JsValue) {
    shopstream_track(event_type, properties);
}

pub fn props(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o.into()
}

/// Product properties as the schema names them; `position` is 1-based in a list.
pub fn product(p: &Product, quantity: Option<u32>, position: Option<usize>) -> JsValue {
    let mut pairs = vec![
        ("sku", p.sku.as_str().into()),
        ("name", p.name.as_str().into()),
        ("brand", p.brand.as_str().into()),
        ("category", p.category.as_str().into()),
        ("price", p.price.into()),
        ("currency", p.currency.as_str().into()),
        ("url", p.url.as_str().into()),
        ("image_url", p.image_url.as_str().into()),
    ];
    if let Some(q) = quantity {
        pairs.push(("quantity", q.into()));
    }
    if let Some(pos) = position {
        pairs.push(("position", (pos as u32).into()));
    }
    props(&pairs)
}

/// A page view (the SDK adds the URL, path, title and referrer).
pub fn page(name: &str, category: Option<&str>) {
    let mut pairs = vec![("name", name.into())];
    if let Some(c) = category {
        pairs.push(("category", c.into()));
    }
    track("page_view", &props(&pairs));
}

/// `product_list_view` of the products shown, with their 1-based positions.
pub fn list_view(list_id: &str, category: Option<&str>, products: &[&Product]) {
    let items = Array::new();
    for (i, p) in products.iter().enumerate() {
        items.push(&product(p, None, Some(i + 1)));
    }
    let mut pairs = vec![("list_id", list_id.into()), ("products", items.into())];
    if let Some(c) = category {
        pairs.push(("category", c.into()));
    }
    track("product_list_view", &props(&pairs));
}

pub fn search(query: &str, results: usize) {
    track("search", &props(&[("query", query.into()), ("results", (results as u32).into())]));
}

/// `add_to_cart` or `remove_from_cart` of `quantity` items.
pub fn cart_change(p: &Product, cart_id: &str, delta: i64) {
    if delta == 0 {
        return;
    }
    let event = if delta > 0 { "add_to_cart" } else { "remove_from_cart" };
    let properties = product(p, Some(delta.unsigned_abs() as u32), None);
    let _ = Reflect::set(&properties, &"cart_id".into(), &cart_id.into());
    track(event, &properties);
}

/// An order's line items, in the schema's shape.
pub fn line_items(lines: &[(Product, u32)]) -> JsValue {
    let items = Array::new();
    for (p, q) in lines {
        items.push(&props(&[
            ("sku", p.sku.as_str().into()),
            ("quantity", (*q).into()),
            ("price", p.price.into()),
            ("name", p.name.as_str().into()),
            ("category", p.category.as_str().into()),
            ("brand", p.brand.as_str().into()),
        ]));
    }
    items.into()
}

pub fn checkout_started(cart: &Cart, lines: &[(Product, u32)], revenue: f64, currency: &str) {
    track(
        "checkout_started",
        &props(&[
            ("checkout_id", cart.id.as_str().into()),
            ("revenue", revenue.into()),
            ("currency", currency.into()),
            ("items", line_items(lines)),
        ]),
    );
}

pub struct Order<'a> {
    pub order_id: &'a str,
    pub lines: &'a [(Product, u32)],
    pub revenue: f64,
    pub shipping: f64,
    pub tax: f64,
    pub currency: &'a str,
}

pub fn purchase(order: &Order<'_>) {
    track(
        "purchase",
        &props(&[
            ("order_id", order.order_id.into()),
            ("revenue", order.revenue.into()),
            ("shipping", order.shipping.into()),
            ("tax", order.tax.into()),
            ("currency", order.currency.into()),
            ("items", line_items(order.lines)),
            ("affiliation", "Shopstream demo shop".into()),
        ]),
    );
}

/// From now on events carry `user_id` and the shopper's token (`provider` is asked for a fresh
/// one when the ingest answers 401).
pub fn signed_in(user_id: &str, email: &str, provider: &Function) {
    let (user_id, traits, provider) = (user_id.to_owned(), props(&[("email", email.into())]), provider.clone());
    later(move || {
        shopstream_set_auth_token(provider.as_ref());
        shopstream_identify(&user_id, &traits);
    });
}

/// Back to the token of an earlier sign-in (a reload): events carry it again, no new `identify`.
pub fn resume(provider: &Function) {
    let provider = provider.clone();
    later(move || shopstream_set_auth_token(provider.as_ref()));
}

/// Signed out: no token, a new anonymous id.
pub fn signed_out() {
    later(|| {
        shopstream_set_auth_token(&JsValue::NULL);
        shopstream_reset();
    });
}

/// How long the shop waits for the SDK to load before it stops asking it (recommendations hide).
const SDK_WAIT_MS: i32 = 10_000;

/// The loaded SDK (not the loader's queue): waits until its `identity()` is there.
async fn sdk() -> Result<JsValue, JsValue> {
    for _ in 0..SDK_WAIT_MS / 20 {
        let sdk = Reflect::get(&js_sys::global(), &"shopstream".into()).unwrap_or(JsValue::UNDEFINED);
        if Reflect::get(&sdk, &"identity".into()).is_ok_and(|f| f.is_function()) {
            return Ok(sdk);
        }
        api::sleep(20).await;
    }
    Err("the Shopstream SDK did not load".into())
}

async fn call(sdk: &JsValue, method: &str) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(sdk, &method.into())?.dyn_into()?;
    let out = f.call0(sdk)?;
    match out.dyn_into::<Promise>() {
        Ok(p) => JsFuture::from(p).await,
        Err(v) => Ok(v),
    }
}

/// Sends what the tracker holds; resolves when the ingest has answered.
pub async fn flush() {
    if let Ok(sdk) = sdk().await {
        let _ = call(&sdk, "flush").await;
    }
}

/// The shopper's anonymous id, once the SDK has loaded.
pub async fn anonymous_id() -> Result<Option<String>, JsValue> {
    let ids = call(&sdk().await?, "identity").await?;
    Ok(Reflect::get(&ids, &"anonymousId".into())?.as_string())
}
