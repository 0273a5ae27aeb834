//! The demo shop: a Leptos single-page app over the local (or AWS) stack. It reads the catalog from
//! `GET /v1/products`, tracks through the published SDK (`window.shopstream`, loaded by
//! `index.html` from the npm package's files, exactly as a customer's shop would), asks
//! `GET /v1/recommendations` for its blocks, and signs shoppers in with Cognito.

mod api;
mod auth;
mod components;
mod dashboard;
mod pages;
mod recs;
mod state;
mod tracking;

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::path;

use crate::state::{use_shop, Catalog, CatalogAnswer, Shop};

/// The shop's name, in titles and the header.
pub const SHOP_NAME: &str = "Shopstream Outdoor";

#[component]
pub fn App() -> impl IntoView {
    let shop = Shop::new();
    provide_context(shop);
    provide_context(auth::start(shop));
    spawn_local(async move {
        match api::get_json::<CatalogAnswer>("/v1/products").await {
            Ok(answer) => shop.catalog.set(Some(Arc::new(Catalog::new(answer)))),
            Err(e) => shop.catalog_error.set(Some(e.to_string())),
        }
    });

    view! {
        <Router>
            <a class="skip" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" tabindex="-1">
                <CatalogProblem />
                <Routes fallback=|| view! { <pages::NotFound /> }>
                    <Route path=path!("/") view=pages::Home />
                    <Route path=path!("/c/:slug") view=pages::Listing />
                    <Route path=path!("/search") view=pages::SearchPage />
                    <Route path=path!("/p/:sku") view=pages::ProductPage />
                    <Route path=path!("/cart") view=pages::CartPage />
                    <Route path=path!("/checkout") view=pages::Checkout />
                    <Route path=path!("/account") view=pages::Account />
                    <Route path=path!("/dashboard") view=dashboard::Dashboard />
                </Routes>
            </main>
            <PageViews />
            <p class="notice" role="status" aria-live="polite" data-testid="status">{move || shop.notice.get()}</p>
            <footer>
                <p>
                    "A demo shop of " <a href="https://github.com/">"Shopstream"</a>
                    ": every click here is tracked by the Shopstream SDK and feeds the recommendations and the "
                    <A href="/dashboard">"live dashboard"</A>"."
                </p>
            </footer>
        </Router>
    }
}

#[component]
fn CatalogProblem() -> impl IntoView {
    let shop = use_shop();
    move || {
        shop.catalog_error.get().map(|e| {
            view! {
                <div class="problem" role="alert">
                    <h2>"The catalog could not be loaded"</h2>
                    <p>{e}</p>
                    <p>"Is the Shopstream server running? Reload the page to try again."</p>
                </div>
            }
        })
    }
}

#[component]
fn Header() -> impl IntoView {
    let shop = use_shop();
    let navigate = use_navigate();
    let query = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = query.get_untracked();
        let q = q.trim();
        if !q.is_empty() {
            navigate(&format!("/search?q={}", js_sys::encode_uri_component(q)), Default::default());
        }
    };
    let categories = move || {
        shop.catalog.get().map(|c| {
            c.categories
                .clone()
                .into_iter()
                .map(|cat| {
                    let href = format!("/c/{}", cat.slug);
                    view! { <li><A href=href>{cat.name}</A></li> }
                })
                .collect_view()
        })
    };
    let account = move || match shop.session.get() {
        Some(s) => format!("Account ({})", s.email),
        None => "Sign in".to_owned(),
    };
    view! {
        <header class="top">
            <div class="bar">
                <A href="/" attr:class="logo">
                    <span aria-hidden="true">"▲ "</span>
                    {SHOP_NAME}
                </A>
                <form class="search" role="search" on:submit=submit>
                    <label for="search-input" class="visually-hidden">"Search products"</label>
                    <input
                        id="search-input"
                        type="search"
                        placeholder="Search tents, jackets, torches…"
                        data-testid="search-input"
                        bind:value=query
                    />
                    <button type="submit">"Search"</button>
                </form>
                <nav class="links" aria-label="Account and cart">
                    <A href="/dashboard">"Dashboard"</A>
                    <A href="/account" attr:data-testid="account-link">{account}</A>
                    <A href="/cart" attr:class="cart-link" attr:data-testid="cart-link">
                        "Cart "
                        <span class="badge" data-testid="cart-count">
                            {move || shop.cart.with(|c| c.count())}
                        </span>
                    </A>
                </nav>
            </div>
            <nav class="categories" aria-label="Categories">
                <ul>{categories}</ul>
            </nav>
        </header>
    }
}

/// A `page_view` on every route change (the SDK's automatic page views are off: the shop knows
/// each page's name and waits for the catalog to title product pages).
#[component]
fn PageViews() -> impl IntoView {
    let shop = use_shop();
    let location = use_location();
    let last = StoredValue::new(String::new());
    Effect::new(move |_| {
        let path = location.pathname.get();
        let catalog = shop.catalog.get();
        if last.get_value() == path {
            return;
        }
        let Some((name, category, title)) = pages::describe(&path, catalog.as_deref()) else { return };
        let first_page = last.get_value().is_empty();
        last.set_value(path);
        shop.notice.set(String::new()); // a notice is about the page it was given on
        api::set_title(&format!("{title} · {SHOP_NAME}"));
        api::scroll_to_top();
        if !first_page {
            // Keyboard and screen reader users start the new page at its content.
            api::focus_main();
        }
        // Sent after this turn, once the browser's URL is the new page's (see `tracking::track`).
        tracking::page(&name, category.as_deref());
    });
}
