//! The shop's pages, one per route.

mod account;
mod cart;
mod home;
mod listing;
mod product;

pub use account::Account;
pub use cart::{CartPage, Checkout};
pub use home::Home;
pub use listing::{Listing, SearchPage};
pub use product::ProductPage;

use leptos::prelude::*;
use leptos_router::components::A;

use crate::state::Catalog;

/// A page's name and category for its `page_view`, and its title; `None` while the catalog a
/// title needs is still loading.
pub fn describe(path: &str, catalog: Option<&Catalog>) -> Option<(String, Option<String>, String)> {
    let page = |name: &str, title: &str| Some((name.to_owned(), None, title.to_owned()));
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => page("Home", "Home"),
        ["c", slug] => {
            let name = catalog?.category(slug).map(|c| c.name.clone());
            match name {
                Some(name) => Some(("Category".into(), Some(name.clone()), name)),
                None => page("Not found", "Page not found"),
            }
        }
        ["p", sku] => match catalog?.product(sku) {
            Some(p) => Some(("Product".into(), Some(p.category.clone()), p.name.clone())),
            None => page("Not found", "Page not found"),
        },
        ["search"] => page("Search", "Search"),
        ["cart"] => page("Cart", "Your cart"),
        ["checkout"] => page("Checkout", "Checkout"),
        ["account"] => page("Account", "Your account"),
        ["dashboard"] => page("Dashboard", "Live dashboard"),
        _ => page("Not found", "Page not found"),
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <A href="/">"Back to the shop"</A></p>
        </section>
    }
}
