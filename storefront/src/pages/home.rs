use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::{ProductCard, SkeletonGrid};
use crate::recs::Recommendations;
use crate::state::use_shop;
use crate::tracking;

/// Products in the home page's "Top rated" list.
const TOP_RATED: usize = 8;

#[component]
pub fn Home() -> impl IntoView {
    let shop = use_shop();
    let tracked = StoredValue::new(false);
    let top = Memo::new(move |_| {
        shop.catalog.get().map(|c| {
            let mut products: Vec<_> = c.products.iter().filter(|p| p.stock > 0).cloned().collect();
            products.sort_by(|a, b| b.rating.total_cmp(&a.rating).then_with(|| a.sku.cmp(&b.sku)));
            products.truncate(TOP_RATED);
            products
        })
    });
    Effect::new(move |_| {
        if let Some(products) = top.get() {
            if !tracked.get_value() {
                tracked.set_value(true);
                tracking::list_view("home-top-rated", None, &products.iter().collect::<Vec<_>>());
            }
        }
    });
    let tiles = move || {
        shop.catalog.get().map(|c| {
            c.categories
                .clone()
                .into_iter()
                .map(|cat| {
                    let image = c.in_category(&cat.slug).next().map(|p| p.image_url.clone()).unwrap_or_default();
                    view! {
                        <li>
                            <A href=format!("/c/{}", cat.slug) attr:class="tile">
                                <img src=image alt="" width="160" height="120" loading="lazy" />
                                <span>{cat.name.clone()}</span>
                            </A>
                        </li>
                    }
                })
                .collect_view()
        })
    };
    view! {
        <section class="hero">
            <h1>"Gear for every trail"</h1>
            <p>
                "Tents, jackets, packs and lights from brands hikers trust. Browse around: the "
                "recommendations learn from every click, live."
            </p>
        </section>
        <Recommendations placement="home" title="Recommended for you" />
        <Recommendations placement="home" strategy="trending" title="Trending now" />
        <section aria-labelledby="categories-heading">
            <h2 id="categories-heading">"Shop by category"</h2>
            <ul class="tiles">{tiles}</ul>
        </section>
        <section aria-labelledby="top-heading">
            <h2 id="top-heading">"Top rated"</h2>
            {move || match top.get() {
                Some(products) => {
                    view! {
                        <ul class="grid">
                            {products
                                .into_iter()
                                .enumerate()
                                .map(|(i, p)| view! { <ProductCard product=p position=i + 1 /> })
                                .collect_view()}
                        </ul>
                    }
                        .into_any()
                }
                None => view! { <SkeletonGrid count=TOP_RATED /> }.into_any(),
            }}
        </section>
    }
}
