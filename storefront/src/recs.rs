//! A recommendations block: `GET /v1/recommendations` for the shopper the SDK tracks (its
//! `identity()`), asked again after each interaction, with impressions (once the block is at least
//! half in view) and clicks tracked with the answer's `recommendation_id`, so click-through is
//! measured per strategy. Its slots are reserved: nothing on the page moves when items arrive.

use catalog::Product;
use js_sys::Array;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

use crate::api;
use crate::state::{euros, use_shop};
use crate::tracking;

/// Items a block shows.
pub const SLOTS: usize = 4;
/// Share of the block that must be in view for an impression.
const VISIBLE_RATIO: f64 = 0.5;

#[derive(Clone, Debug, Deserialize)]
struct ApiItem {
    sku: String,
}

#[derive(Clone, Debug, Deserialize)]
struct ApiAnswer {
    recommendation_id: String,
    #[serde(default)]
    strategy: String,
    items: Vec<ApiItem>,
}

/// One answer, reduced to what the shop sells.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub recommendation_id: String,
    pub strategy: String,
    pub products: Vec<Product>,
}

/// A block for `placement` (`home`, `product`, `cart`); `strategy` narrows what the API uses
/// (`trending`, `also_viewed`, `bought_together`), `sku` names the product of a product page.
#[component]
pub fn Recommendations(
    placement: &'static str,
    title: &'static str,
    #[prop(optional)] strategy: Option<&'static str>,
    #[prop(optional, into)] sku: Option<Signal<String>>,
    /// Hide the block when the API fell back from `strategy` to trending items (which another block
    /// on the page shows already).
    #[prop(optional)]
    hide_fallback: bool,
) -> impl IntoView {
    let shop = use_shop();
    let answer = RwSignal::new(None::<Answer>);
    let failed = RwSignal::new(false);
    let visible = RwSignal::new(false);
    let impressed = StoredValue::new(String::new());
    let asked = StoredValue::new(0u32);
    let block = NodeRef::<leptos::html::Section>::new();
    let id = format!("recs-{placement}{}", strategy.map(|s| format!("-{s}")).unwrap_or_default());

    Effect::new(move |_| {
        shop.recs_refresh.track();
        let sku = sku.map(|s| s.get());
        let catalog = shop.catalog.get();
        let generation = asked.get_value() + 1;
        asked.set_value(generation);
        spawn_local(async move {
            let Some(catalog) = catalog else { return };
            let got = fetch(placement, strategy, sku.as_deref()).await;
            // The block may be gone (the shopper moved on), or a newer interaction asked again.
            if asked.try_get_value() != Some(generation) {
                return;
            }
            match got {
                Ok(a) => {
                    let products =
                        a.items.iter().filter_map(|i| catalog.product(&i.sku).cloned()).take(SLOTS).collect();
                    failed.try_set(false);
                    answer.try_set(Some(Answer {
                        recommendation_id: a.recommendation_id,
                        strategy: a.strategy,
                        products,
                    }));
                }
                // The API is down: the block is hidden rather than broken; the next interaction retries.
                Err(_) => {
                    failed.try_set(true);
                }
            }
        });
    });

    // Watch how much of the block is in view.
    let observer = StoredValue::new_local(None::<IntersectionObserver>);
    Effect::new(move |_| {
        let Some(el) = block.get() else { return };
        let callback = Closure::<dyn Fn(Array)>::new(move |entries: Array| {
            for entry in entries.iter() {
                let entry: IntersectionObserverEntry = entry.unchecked_into();
                // `try_`: a callback may still come in after the block is gone.
                visible.try_set(entry.is_intersecting() && entry.intersection_ratio() >= VISIBLE_RATIO);
            }
        });
        let init = IntersectionObserverInit::new();
        init.set_threshold(&JsValue::from_f64(VISIBLE_RATIO));
        if let Ok(o) = IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &init) {
            o.observe(&el);
            observer.set_value(Some(o));
        }
        callback.forget();
    });
    on_cleanup(move || {
        observer.try_with_value(|o| {
            if let Some(o) = o {
                o.disconnect();
            }
        });
    });

    // Hidden: the API failed, answered nothing, or fell back where this block does not want it.
    let hidden = Memo::new(move |_| {
        failed.get()
            || answer.with(|a| {
                a.as_ref()
                    .is_some_and(|a| a.products.is_empty() || (hide_fallback && Some(a.strategy.as_str()) != strategy))
            })
    });

    // An impression once per answer, when it is in view.
    Effect::new(move |_| {
        if !visible.get() || hidden.get() {
            return;
        }
        let Some(a) = answer.get() else { return };
        if a.products.is_empty() || impressed.get_value() == a.recommendation_id {
            return;
        }
        impressed.set_value(a.recommendation_id.clone());
        let skus = Array::new();
        for p in &a.products {
            skus.push(&JsValue::from_str(&p.sku));
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

    let testid = id.clone();
    let slot = move |i: usize| {
        let shown = move || answer.get().and_then(|a| a.products.get(i).cloned().map(|p| (a, p)));
        let testid = testid.clone();
        view! {
            // An empty slot only holds the place: not an item for screen readers.
            <li class="rec-slot" aria-hidden=move || answer.with(|a| a.as_ref().and_then(|a| a.products.get(i)).is_none()).then_some("true")>
                {move || match shown() {
                    Some((a, p)) => {
                        let sku = p.sku.clone();
                        let click = move |_| {
                            // Now: the link is about to take the shopper to the product's page.
                            tracking::track_now(
                                "recommendation_click",
                                &tracking::props(&[
                                    ("recommendation_id", a.recommendation_id.as_str().into()),
                                    ("sku", sku.as_str().into()),
                                    ("position", (i as u32 + 1).into()),
                                    ("placement", placement.into()),
                                    ("strategy", a.strategy.as_str().into()),
                                ]),
                            );
                        };
                        view! {
                            <A
                                href=p.url.clone()
                                attr:class="rec"
                                attr:data-testid=format!("{testid}-{i}")
                                attr:data-sku=p.sku.clone()
                                on:click=click
                            >
                                <img src=p.image_url.clone() alt="" width="160" height="120" loading="lazy" />
                                <span class="rec-name">{p.name.clone()}</span>
                                <span class="rec-price">{euros(p.price)}</span>
                            </A>
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
            node_ref=block
            data-testid=id.clone()
            aria-labelledby=format!("{id}-title")
            hidden=move || hidden.get()
            data-strategy=move || answer.get().map(|a| a.strategy).unwrap_or_default()
            data-recommendation-id=move || answer.get().map(|a| a.recommendation_id).unwrap_or_default()
        >
            <h2 id=format!("{id}-title")>
                {move || match answer.get().map(|a| a.strategy) {
                    // A product's neighbours are not known yet: say what is shown instead.
                    Some(s) if placement != "home" && s.starts_with("trending") => "Popular right now",
                    _ => title,
                }}
            </h2>
            <ul class="rec-row">{(0..SLOTS).map(slot).collect_view()}</ul>
        </section>
    }
}

async fn fetch(placement: &str, strategy: Option<&str>, sku: Option<&str>) -> Result<ApiAnswer, JsValue> {
    let anonymous_id = tracking::anonymous_id().await?;
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    // Asked for more than the slots: the API may name items this catalog does not sell.
    let mut url = format!("/v1/recommendations?placement={placement}&limit={}", SLOTS * 2);
    if let Some(anon) = anonymous_id {
        url.push_str(&format!("&anonymous_id={}", enc(&anon)));
    }
    if let Some(s) = strategy {
        url.push_str(&format!("&strategy={s}"));
    }
    if let Some(sku) = sku.filter(|s| !s.is_empty()) {
        url.push_str(&format!("&sku={}", enc(sku)));
    }
    api::get_json(&url).await.map_err(|e| JsValue::from_str(&e.to_string()))
}
