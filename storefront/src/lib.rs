//! The demo shop. It tracks through the published SDK (`window.shopstream`, loaded by
//! `index.html` from the npm package's files), exactly as a customer's shop would.

mod catalog;
mod recs;
mod tracking;

use leptos::prelude::*;

pub use catalog::{Product, CATALOG};

#[component]
pub fn App() -> impl IntoView {
    let (cart_items, set_cart_items) = signal(0u32);
    let (status, set_status) = signal(String::new());
    // Bumped after each tracked interaction: the recommendations ask again.
    let (refresh, set_refresh) = signal(0u32);
    let interacted = move || set_refresh.update(|n| *n += 1);
    tracking::track("page_view", &tracking::props(&[("name", "Home".into())]));
    let picked = Callback::new(move |p: Product| {
        tracking::track("product_view", &tracking::product(&p, None));
        set_status.set(format!("You viewed {}", p.name));
        interacted();
    });

    let cards = CATALOG
        .iter()
        .map(|product| {
            let p = *product;
            view! {
                <li class="card" data-testid=format!("product-{}", p.sku)>
                    <div class="swatch" style=format!("background:{}", p.colour) aria-hidden="true"></div>
                    <h2>{p.name}</h2>
                    <p class="meta">{p.brand}" · "{p.category}</p>
                    <p class="price">{p.price_label()}</p>
                    <div class="actions">
                        <button
                            data-testid=format!("view-{}", p.sku)
                            on:click=move |_| {
                                tracking::track("product_view", &tracking::product(&p, None));
                                set_status.set(format!("You viewed {}", p.name));
                                interacted();
                            }
                        >
                            "View"
                        </button>
                        <button
                            class="primary"
                            data-testid=format!("add-{}", p.sku)
                            on:click=move |_| {
                                tracking::track("add_to_cart", &tracking::product(&p, Some(1)));
                                set_cart_items.update(|n| *n += 1);
                                set_status.set(format!("{} added to your cart", p.name));
                                interacted();
                            }
                        >
                            "Add to cart"
                        </button>
                    </div>
                </li>
            }
        })
        .collect_view();

    view! {
        <header>
            <h1>"Shopstream demo shop"</h1>
            <span class="cart" data-testid="cart-count" aria-live="polite">
                "Cart: " {move || cart_items.get()}
            </span>
        </header>
        <main>
            <recs::Recommendations placement="home" title="Recommended for you" refresh=refresh on_pick=picked />
            <ul class="grid">{cards}</ul>
            <p role="status" data-testid="status">{move || status.get()}</p>
        </main>
    }
}
