//! The cart (`/cart`, with complements) and the checkout (`/checkout`, ending in a `purchase`).

use catalog::Product;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api;
use crate::recs::Recommendations;
use crate::state::{cents, euros, use_shop, Shop, FREE_SHIPPING_FROM, MAX_QUANTITY, SHIPPING, VAT_RATE};
use crate::tracking;

/// The cart's lines with their products (lines whose SKU the catalog no longer has are left out).
fn lines(shop: Shop) -> Option<Vec<(Product, u32)>> {
    let catalog = shop.catalog.get()?;
    Some(
        shop.cart.with(|c| {
            c.lines.iter().filter_map(|l| catalog.product(&l.sku).map(|p| (p.clone(), l.quantity))).collect()
        }),
    )
}

/// Subtotal, shipping, total and the VAT the total includes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Totals {
    subtotal: f64,
    shipping: f64,
    total: f64,
    vat: f64,
}

fn totals(lines: &[(Product, u32)]) -> Totals {
    let subtotal = cents(lines.iter().map(|(p, q)| p.price * f64::from(*q)).sum());
    let shipping = if subtotal >= FREE_SHIPPING_FROM || subtotal == 0.0 { 0.0 } else { SHIPPING };
    let total = cents(subtotal + shipping);
    Totals { subtotal, shipping, total, vat: cents(total * VAT_RATE / (1.0 + VAT_RATE)) }
}

#[component]
fn Summary(totals: Totals) -> impl IntoView {
    view! {
        <dl class="summary">
            <dt>"Subtotal"</dt>
            <dd data-testid="subtotal">{euros(totals.subtotal)}</dd>
            <dt>"Shipping"</dt>
            <dd>{if totals.shipping == 0.0 { "Free".to_owned() } else { euros(totals.shipping) }}</dd>
            <dt class="total">"Total"</dt>
            <dd class="total" data-testid="total">{euros(totals.total)}</dd>
            <dt class="vat">"Including VAT"</dt>
            <dd class="vat">{euros(totals.vat)}</dd>
        </dl>
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let shop = use_shop();
    let change = move |p: Product, quantity: u32| {
        let delta = shop.set_quantity(&p.sku, quantity, p.stock);
        let cart_id = shop.cart.with_untracked(|c| c.id.clone());
        tracking::cart_change(&p, &cart_id, delta);
        if quantity == 0 {
            shop.notice.set(format!("{} removed from your cart.", p.name));
        }
        shop.interacted();
    };
    let body = move || {
        let Some(lines) = lines(shop) else {
            return view! { <p aria-busy="true">"Loading your cart…"</p> }.into_any();
        };
        if lines.is_empty() {
            return view! {
                <p class="empty" data-testid="cart-empty">
                    "Your cart is empty. " <A href="/">"Find something you like"</A>
                </p>
            }
            .into_any();
        }
        let t = totals(&lines);
        let rows = lines
            .into_iter()
            .map(|(p, q)| {
                let (p1, p2) = (p.clone(), p.clone());
                let max = p.stock.clamp(q, MAX_QUANTITY.max(q));
                let name = p.name.clone();
                let qty_label = format!("Quantity of {}", p.name);
                view! {
                    <li class="line" data-testid=format!("line-{}", p.sku)>
                        <img src=p.image_url.clone() alt="" width="120" height="90" />
                        <div>
                            <A href=p.url.clone()>{name}</A>
                            <p class="meta">{p.brand.clone()} " · " {euros(p.price)}</p>
                        </div>
                        <label>
                            <span class="visually-hidden">{qty_label}</span>
                            <select
                                data-testid=format!("qty-{}", p.sku)
                                prop:value=q.to_string()
                                on:change=move |ev| change(p1.clone(), event_target_value(&ev).parse().unwrap_or(q))
                            >
                                {(1..=max).map(|n| view! { <option value=n.to_string()>{n}</option> }).collect_view()}
                            </select>
                        </label>
                        <span class="line-total">{euros(cents(p.price * f64::from(q)))}</span>
                        <button
                            class="link"
                            data-testid=format!("remove-{}", p.sku)
                            aria-label=format!("Remove {} from the cart", p.name)
                            on:click=move |_| change(p2.clone(), 0)
                        >
                            "Remove"
                        </button>
                    </li>
                }
            })
            .collect_view();
        view! {
            <div class="cart">
                <ul class="lines">{rows}</ul>
                <aside>
                    <Summary totals=t />
                    <A href="/checkout" attr:class="button primary big" attr:data-testid="checkout-link">
                        "Go to checkout"
                    </A>
                </aside>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="page">
            <h1>"Your cart"</h1>
            {body}
        </section>
        <Recommendations placement="cart" title="Goes well with your cart" />
    }
}

/// The fields of the checkout form.
#[derive(Clone, Copy)]
struct Form {
    email: RwSignal<String>,
    name: RwSignal<String>,
    address: RwSignal<String>,
    city: RwSignal<String>,
    postcode: RwSignal<String>,
}

#[component]
fn Field(
    label: &'static str,
    id: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] kind: &'static str,
) -> impl IntoView {
    let kind = if kind.is_empty() { "text" } else { kind };
    view! {
        <p class="field">
            <label for=id>{label}</label>
            <input id=id name=id type=kind required data-testid=format!("field-{id}") bind:value=value />
        </p>
    }
}

#[component]
pub fn Checkout() -> impl IntoView {
    let shop = use_shop();
    let form = Form {
        email: RwSignal::new(shop.session.get_untracked().map(|s| s.email).unwrap_or_default()),
        name: RwSignal::new(String::new()),
        address: RwSignal::new(String::new()),
        city: RwSignal::new(String::new()),
        postcode: RwSignal::new(String::new()),
    };
    let error = RwSignal::new(String::new());
    let placed = RwSignal::new(None::<(String, f64)>);
    let busy = RwSignal::new(false);

    // `checkout_started` once, when the page shows a cart with something in it.
    let started = StoredValue::new(false);
    Effect::new(move |_| {
        let Some(lines) = lines(shop) else { return };
        if started.get_value() || lines.is_empty() {
            return;
        }
        started.set_value(true);
        let t = totals(&lines);
        shop.cart.with_untracked(|c| tracking::checkout_started(c, &lines, t.total, "EUR"));
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let Some(lines) = lines(shop) else { return };
        if lines.is_empty() {
            error.set("Your cart is empty.".into());
            return;
        }
        let missing: Vec<&str> = [
            ("email", form.email),
            ("name", form.name),
            ("address", form.address),
            ("city", form.city),
            ("postcode", form.postcode),
        ]
        .iter()
        .filter(|(_, v)| v.get_untracked().trim().is_empty())
        .map(|(k, _)| *k)
        .collect();
        if !missing.is_empty() {
            error.set(format!("Please fill in: {}.", missing.join(", ")));
            return;
        }
        if !form.email.get_untracked().contains('@') {
            error.set("Please enter an email address with an @.".into());
            return;
        }
        error.set(String::new());
        busy.set(true);
        let t = totals(&lines);
        let order_id = format!("ord-{}", api::random_id());
        tracking::purchase(&tracking::Order {
            order_id: &order_id,
            lines: &lines,
            revenue: t.total,
            shipping: t.shipping,
            tax: t.vat,
            currency: "EUR",
        });
        spawn_local(async move {
            // The purchase is sent before the order is confirmed (if the network is down, the tracker
            // keeps it in its persistent queue and sends it later).
            tracking::flush().await;
            shop.new_cart();
            busy.try_set(false);
            placed.try_set(Some((order_id, t.total)));
            shop.interacted();
        });
    };

    move || {
        if let Some((order_id, total)) = placed.get() {
            return view! {
                <section class="page narrow" data-testid="order-placed">
                    <h1>"Thank you for your order"</h1>
                    <p>"Order " <strong data-testid="order-id">{order_id}</strong> " for " {euros(total)} " is confirmed."</p>
                    <p>"This is a demo: nothing is charged or shipped. " <A href="/">"Keep browsing"</A></p>
                </section>
            }
                .into_any();
        }
        let Some(lines) = lines(shop) else {
            return view! { <p aria-busy="true">"Loading…"</p> }.into_any();
        };
        if lines.is_empty() {
            return view! {
                <section class="page narrow">
                    <h1>"Checkout"</h1>
                    <p class="empty">"Your cart is empty. " <A href="/">"Find something you like"</A></p>
                </section>
            }
            .into_any();
        }
        let t = totals(&lines);
        view! {
            <section class="page checkout">
                <h1>"Checkout"</h1>
                <form novalidate on:submit=submit>
                    <fieldset>
                        <legend>"Contact and delivery"</legend>
                        <Field label="Email" id="email" value=form.email kind="email" />
                        <Field label="Full name" id="name" value=form.name />
                        <Field label="Street address" id="address" value=form.address />
                        <Field label="City" id="city" value=form.city />
                        <Field label="Postcode" id="postcode" value=form.postcode />
                    </fieldset>
                    <p class="hint">"Demo shop: no payment is taken."</p>
                    <p class="error" role="alert" data-testid="checkout-error">{move || error.get()}</p>
                    <button class="primary big" type="submit" data-testid="place-order" disabled=move || busy.get()>
                        {move || {
                            if busy.get() { "Placing your order…".to_owned() } else { format!("Place order · {}", euros(t.total)) }
                        }}
                    </button>
                </form>
                <aside>
                    <h2>"Your order"</h2>
                    <ul class="mini-lines">
                        {lines
                            .iter()
                            .map(|(p, q)| view! { <li>{format!("{q} × {}", p.name)} <span>{euros(cents(p.price * f64::from(*q)))}</span></li> })
                            .collect_view()}
                    </ul>
                    <Summary totals=t />
                </aside>
            </section>
        }
            .into_any()
    }
}
