//! Pieces the pages share: product cards, prices, ratings, stock.

use catalog::Product;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::state::{euros, use_shop, Shop};
use crate::tracking;

/// Adds `quantity` of `product` to the cart (as far as its stock allows), tracked; tells the shopper.
pub fn add_to_cart(shop: Shop, product: &Product, quantity: u32) {
    let now = shop.cart.with_untracked(|c| c.quantity(&product.sku));
    let delta = shop.set_quantity(&product.sku, now + quantity, product.stock);
    if delta == 0 {
        shop.notice.set(format!("Your cart holds all of {} we can sell you.", product.name));
        return;
    }
    let cart_id = shop.cart.with_untracked(|c| c.id.clone());
    tracking::cart_change(product, &cart_id, delta);
    shop.notice.set(match delta {
        1 => format!("{} added to your cart.", product.name),
        n => format!("{n} × {} added to your cart.", product.name),
    });
    shop.interacted();
}

#[component]
pub fn Stars(rating: f32) -> impl IntoView {
    let full = rating.round() as usize;
    let stars: String = (0..5).map(|i| if i < full { '★' } else { '☆' }).collect();
    view! {
        <span class="stars" role="img" aria-label=format!("Rated {rating:.1} out of 5")>
            <span aria-hidden="true">{stars}</span>
            <span class="rating" aria-hidden="true">{format!(" {rating:.1}")}</span>
        </span>
    }
}

/// "In stock", "Only 3 left", "Out of stock".
#[component]
pub fn StockBadge(stock: u32, reorder_point: u32) -> impl IntoView {
    let (class, text) = match stock {
        0 => ("stock out", "Out of stock".to_owned()),
        n if n <= reorder_point => ("stock low", format!("Only {n} left")),
        _ => ("stock in", "In stock".to_owned()),
    };
    view! { <span class=class>{text}</span> }
}

/// A product in a grid: picture, name, brand, rating, price, stock and an add button.
#[component]
pub fn ProductCard(product: Product, #[prop(optional)] position: usize) -> impl IntoView {
    let shop = use_shop();
    let p = product.clone();
    let sku = product.sku.clone();
    let out = product.stock == 0;
    let name = product.name.clone();
    let label = format!(": {}", product.name);
    view! {
        <li class="card" data-testid=format!("product-{sku}") data-position=position>
            <A href=product.url.clone() attr:class="card-link" attr:data-testid=format!("open-{sku}")>
                <img src=product.image_url.clone() alt="" width="400" height="300" loading="lazy" />
                <span class="card-name">{name}</span>
            </A>
            <p class="meta">{product.brand.clone()}</p>
            <Stars rating=product.rating />
            <p class="price">{euros(product.price)}</p>
            <StockBadge stock=product.stock reorder_point=product.reorder_point />
            <button
                class="primary"
                data-testid=format!("add-{sku}")
                disabled=out
                on:click=move |_| add_to_cart(shop, &p, 1)
            >
                {if out { "Sold out" } else { "Add to cart" }}
                // The visible words first, then which product (WCAG 2.5.3, label in name).
                <span class="visually-hidden">{label}</span>
            </button>
        </li>
    }
}

/// Grey cards that hold the grid's place while the catalog loads (nothing shifts when it arrives).
#[component]
pub fn SkeletonGrid(count: usize) -> impl IntoView {
    view! {
        <ul class="grid" aria-busy="true" aria-label="Loading products">
            {(0..count).map(|_| view! { <li class="card skeleton" aria-hidden="true"></li> }).collect_view()}
        </ul>
    }
}
