//! A product's page (`/p/{sku}`): picture, details, stock, quantity and add to cart, and two
//! recommendation blocks ("frequently bought together", "customers also viewed").

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::components::{add_to_cart, Stars, StockBadge};
use crate::pages::NotFound;
use crate::recs::Recommendations;
use crate::state::{euros, use_shop, MAX_QUANTITY};
use crate::tracking;

#[component]
pub fn ProductPage() -> impl IntoView {
    let shop = use_shop();
    let params = use_params_map();
    let sku = Memo::new(move |_| params.read().get("sku").unwrap_or_default());
    let product = Memo::new(move |_| shop.catalog.get().map(|c| c.product(&sku.get()).cloned()));
    let quantity = RwSignal::new(1u32);

    // One product view per product opened.
    let viewed = StoredValue::new(String::new());
    Effect::new(move |_| {
        if let Some(Some(p)) = product.get() {
            if viewed.get_value() != p.sku {
                viewed.set_value(p.sku.clone());
                quantity.set(1);
                tracking::track("product_view", &tracking::product(&p, None, None));
                shop.interacted();
            }
        }
    });

    let add = move |_| {
        if let Some(Some(p)) = product.get_untracked() {
            add_to_cart(shop, &p, quantity.get_untracked());
        }
    };

    let sku_signal = Signal::derive(move || sku.get());
    move || match product.get() {
        None => view! { <section class="page product loading" aria-busy="true"></section> }.into_any(),
        Some(None) => view! { <NotFound /> }.into_any(),
        Some(Some(p)) => {
            let max = p.stock.min(MAX_QUANTITY);
            let out = p.stock == 0;
            view! {
                <section class="page product" data-testid="product-page" data-sku=p.sku.clone()>
                    <nav class="crumbs" aria-label="Breadcrumb">
                        <A href="/">"Home"</A>
                        " / "
                        <A href=format!("/c/{}", p.category_slug)>{p.category.clone()}</A>
                        " / "
                        <span aria-current="page">{p.name.clone()}</span>
                    </nav>
                    <div class="product-main">
                        <img class="product-image" src=p.image_url.clone() alt=p.name.clone() width="400" height="300" />
                        <div class="product-info">
                            <p class="meta">{p.brand.clone()}</p>
                            <h1>{p.name.clone()}</h1>
                            <Stars rating=p.rating />
                            <p class="price big">{euros(p.price)}</p>
                            <StockBadge stock=p.stock reorder_point=p.reorder_point />
                            <p>{p.description.clone()}</p>
                            <ul class="tags" aria-label="Features">
                                {p.tags.iter().map(|t| view! { <li>{t.clone()}</li> }).collect_view()}
                            </ul>
                            <div class="buy">
                                <label>
                                    "Quantity "
                                    <select
                                        data-testid="quantity-select"
                                        disabled=out
                                        prop:value=move || quantity.get().to_string()
                                        on:change=move |ev| {
                                            quantity.set(event_target_value(&ev).parse().unwrap_or(1))
                                        }
                                    >
                                        {(1..=max.max(1))
                                            .map(|n| view! { <option value=n.to_string()>{n}</option> })
                                            .collect_view()}
                                    </select>
                                </label>
                                <button class="primary big" data-testid="add-to-cart" disabled=out on:click=add>
                                    {if out { "Sold out" } else { "Add to cart" }}
                                </button>
                            </div>
                        </div>
                    </div>
                </section>
                <Recommendations placement="product" strategy="also_viewed" sku=sku_signal title="Customers also viewed" />
                // Last on the page: it hides when no order has the product yet, and nothing is below it.
                <Recommendations
                    placement="product"
                    strategy="bought_together"
                    sku=sku_signal
                    title="Frequently bought together"
                    hide_fallback=true
                />
            }
                .into_any()
        }
    }
}
