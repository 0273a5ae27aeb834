//! A recommendations block: `GET /v1/recommendations` for the shopper the SDK tracks (its
//! `identity()`), refreshed after each interaction, with impressions and clicks tracked with the
//! answer's `recommendation_id` (so click-through is measured per strategy).

use js_sys::{Array, Function, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::catalog::{Product, CATALOG};
use crate::tracking;

/// Items a block shows (its slots are reserved, so nothing moves when they arrive).
pub const SLOTS: usize = 4;
/// After an interaction: the tracker's queue is flushed, then the block asks again this much later
/// (the local processor applies an event within tens of milliseconds).
const AFTER_FLUSH_MS: i32 = 150;

/// One answer of the API, reduced to what the shop shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub recommendation_id: String,
    pub strategy: String,
    pub products: Vec<Product>,
}

/// A block of recommendations for `placement` (`home`, `product`, `cart`). `refresh` is bumped by
/// the page after each tracked interaction; the block then asks again.
#[component]
pub fn Recommendations(
    placement: &'static str,
    title: &'static str,
    #[prop(optional)] sku: Option<&'static str>,
    refresh: ReadSignal<u32>,
    /// Called with the product a shopper picks from the block (after the click is tracked).
    on_pick: Callback<Product>,
) -> impl IntoView {
    let (answer, set_answer) = signal(None::<Answer>);
    let (failed, set_failed) = signal(false);
    let impressed = StoredValue::new(String::new());

    Effect::new(move |_| {
        let generation = refresh.get();
        spawn_local(async move {
            if generation > 0 {
                flush_tracker().await;
                sleep(AFTER_FLUSH_MS).await;
            }
            let got = fetch(placement, sku).await;
            if refresh.get_untracked() != generation {
                return; // a newer interaction asked again meanwhile
            }
            match got {
                Ok(a) => {
                    set_failed.set(false);
                    set_answer.set(Some(a));
                }
                // The API is down: the block is hidden rather than broken; the next interaction retries.
                Err(_) => set_failed.set(true),
            }
        });
    });

    // An impression once per answer shown.
    Effect::new(move |_| {
        let Some(a) = answer.get() else { return };
        if a.products.is_empty() || impressed.get_value() == a.recommendation_id {
            return;
        }
        impressed.set_value(a.recommendation_id.clone());
        let skus = Array::new();
        for p in &a.products {
            skus.push(&JsValue::from_str(p.sku));
        }
        tracking::track(
            "recommendation_impression",
            &tracking::props(&[
                ("recommendation_id", a.recommendation_id.as_str().into()),
                ("skus", skus.into()),
                ("placement", placement.into()),
                ("strategy", a.strategy.as_str().into()),
            ]),
        );
    });

    let slot = move |i: usize| {
        let shown = move || answer.get().and_then(|a| a.products.get(i).copied().map(|p| (a, p)));
        view! {
            <li class="rec-slot">
                {move || match shown() {
                    Some((a, p)) => {
                        let pick = move |_| {
                            tracking::track(
                                "recommendation_click",
                                &tracking::props(&[
                                    ("recommendation_id", a.recommendation_id.as_str().into()),
                                    ("sku", p.sku.into()),
                                    ("position", (i as u32).into()),
                                    ("placement", placement.into()),
                                    ("strategy", a.strategy.as_str().into()),
                                ]),
                            );
                            on_pick.run(p);
                        };
                        view! {
                            <button class="rec" data-testid=format!("rec-{placement}-{i}") data-sku=p.sku on:click=pick>
                                <span class="rec-swatch" style=format!("background:{}", p.colour) aria-hidden="true"></span>
                                <span class="rec-name">{p.name}</span>
                                <span class="rec-price">{p.price_label()}</span>
                            </button>
                        }
                            .into_any()
                    }
                    None => view! { <span class="rec-empty" aria-hidden="true"></span> }.into_any(),
                }}
            </li>
        }
    };

    view! {
        <section
            class="recs"
            data-testid=format!("recs-{placement}")
            aria-label=title
            hidden=move || failed.get()
            data-strategy=move || answer.get().map(|a| a.strategy).unwrap_or_default()
        >
            <h2>{title}</h2>
            <ul class="rec-row">{(0..SLOTS).map(slot).collect_view()}</ul>
        </section>
    }
}

/// How long the block waits for the SDK to load before it gives up (and hides).
const SDK_WAIT_MS: i32 = 10_000;

/// The SDK is loaded by the snippet: wait until its `identity()` is there.
async fn sdk() -> Result<JsValue, JsValue> {
    for _ in 0..SDK_WAIT_MS / 20 {
        let sdk = Reflect::get(&js_sys::global(), &"shopstream".into()).unwrap_or(JsValue::UNDEFINED);
        if Reflect::get(&sdk, &"identity".into()).is_ok_and(|f| f.is_function()) {
            return Ok(sdk);
        }
        sleep(20).await;
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

async fn flush_tracker() {
    if let Ok(sdk) = sdk().await {
        let _ = call(&sdk, "flush").await;
    }
}

async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

fn text(v: &JsValue, field: &str) -> Option<String> {
    Reflect::get(v, &field.into()).ok().and_then(|v| v.as_string())
}

async fn fetch(placement: &str, sku: Option<&str>) -> Result<Answer, JsValue> {
    let ids = call(&sdk().await?, "identity").await?;
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    // Asked for more than the slots: the API may name items this catalog does not sell.
    let mut url = format!("/v1/recommendations?placement={placement}&limit={}", SLOTS * 2);
    if let Some(anon) = text(&ids, "anonymousId") {
        url.push_str(&format!("&anonymous_id={}", enc(&anon)));
    }
    if let Some(sku) = sku {
        url.push_str(&format!("&sku={}", enc(sku)));
    }
    let window = web_sys::window().ok_or("no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url)).await?.dyn_into()?;
    if !response.ok() {
        return Err(format!("recommendations: HTTP {}", response.status()).into());
    }
    let body = JsFuture::from(response.json()?).await?;
    let items: Array = Reflect::get(&body, &"items".into())?.dyn_into()?;
    let products = items
        .iter()
        .filter_map(|item| text(&item, "sku"))
        .filter_map(|sku| CATALOG.iter().find(|p| p.sku == sku).copied())
        .take(SLOTS)
        .collect();
    Ok(Answer {
        recommendation_id: text(&body, "recommendation_id").ok_or("no recommendation_id")?,
        strategy: text(&body, "strategy").unwrap_or_default(),
        products,
    })
}
