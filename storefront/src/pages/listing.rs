//! A category's products (`/c/{slug}`) and search results (`/search?q=`), with sorting and a filter.

use catalog::Product;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use leptos_router::NavigateOptions;

use crate::api;
use crate::components::{ProductCard, SkeletonGrid};
use crate::state::use_shop;
use crate::tracking;

/// The sort orders a listing offers: (query value, label).
const SORTS: &[(&str, &str)] = &[
    ("featured", "Featured"),
    ("price-asc", "Price: low to high"),
    ("price-desc", "Price: high to low"),
    ("rating", "Top rated"),
    ("name", "Name"),
];
/// A list view is tracked once the filter has not changed for this long.
const LIST_VIEW_DEBOUNCE_MS: i32 = 400;

fn sorted(mut products: Vec<Product>, sort: &str) -> Vec<Product> {
    match sort {
        "price-asc" => products.sort_by(|a, b| a.price.total_cmp(&b.price)),
        "price-desc" => products.sort_by(|a, b| b.price.total_cmp(&a.price)),
        "rating" => products.sort_by(|a, b| b.rating.total_cmp(&a.rating)),
        "name" => products.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => {}
    }
    products
}

/// The grid, the sort and filter controls, and the list view tracking shared by both pages.
#[component]
fn ProductList(
    /// The products before filtering, `None` while loading.
    products: Signal<Option<Vec<Product>>>,
    /// `list_id` of the tracked list views.
    list_id: Signal<String>,
    category: Signal<Option<String>>,
    /// The page's path, to keep the controls in its query string.
    path: Signal<String>,
    #[prop(optional)] show_filter: bool,
) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let sort = Memo::new(move |_| query.read().get("sort").unwrap_or_else(|| "featured".into()));
    let filter = Memo::new(move |_| query.read().get("filter").unwrap_or_default());
    let shown = Memo::new(move |_| {
        let products = products.get()?;
        let f = filter.get();
        Some(sorted(products.into_iter().filter(|p| p.matches_query(&f)).collect(), &sort.get()))
    });
    let set_param = move |key: &'static str, value: String| {
        let (mut s, mut f) = (sort.get_untracked(), filter.get_untracked());
        if key == "sort" {
            s = value;
        } else {
            f = value;
        }
        let mut url = format!("{}?sort={}", path.get_untracked(), s);
        if !f.is_empty() {
            url.push_str(&format!("&filter={}", js_sys::encode_uri_component(&f)));
        }
        if let Some(q) = query.read_untracked().get("q") {
            url.push_str(&format!("&q={}", js_sys::encode_uri_component(&q)));
        }
        navigate(&url, NavigateOptions { replace: true, scroll: false, ..Default::default() });
    };
    let set_sort = set_param.clone();

    // One list view per distinct list shown: at once for a new page or sort, once typing in the
    // filter has settled.
    let generation = StoredValue::new(0u32);
    let last = StoredValue::new(String::new());
    let last_filter = StoredValue::new(None::<String>);
    Effect::new(move |_| {
        let Some(list) = shown.get() else { return };
        let f = filter.get();
        let q = query.read().get("q").unwrap_or_default();
        let key = format!("{}|{}|{}|{}", list_id.get(), sort.get(), f, q);
        let typing = last_filter.get_value().is_some_and(|l| l != f);
        last_filter.set_value(Some(f));
        let g = generation.get_value() + 1;
        generation.set_value(g);
        spawn_local(async move {
            if typing {
                api::sleep(LIST_VIEW_DEBOUNCE_MS).await;
            }
            // `try_`: the shopper may have left the page meanwhile (then nothing is tracked).
            if generation.try_get_value() != Some(g) || last.try_get_value().is_none_or(|l| l == key) {
                return;
            }
            let (Some(id), Some(category)) = (list_id.try_get_untracked(), category.try_get_untracked()) else {
                return;
            };
            last.try_set_value(key);
            let refs: Vec<&Product> = list.iter().collect();
            tracking::list_view(&id, category.as_deref(), &refs);
        });
    });

    view! {
        <div class="controls">
            {show_filter
                .then(|| {
                    view! {
                        <label>
                            "Filter "
                            <input
                                type="search"
                                data-testid="filter-input"
                                prop:value=move || filter.get()
                                on:input=move |ev| set_param("filter", event_target_value(&ev))
                            />
                        </label>
                    }
                })}
            <label>
                "Sort by "
                <select
                    data-testid="sort-select"
                    prop:value=move || sort.get()
                    on:change=move |ev| set_sort("sort", event_target_value(&ev))
                >
                    {SORTS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                </select>
            </label>
            <span class="count" aria-live="polite" data-testid="result-count">
                {move || shown.get().map(|l| format!("{} products", l.len())).unwrap_or_default()}
            </span>
        </div>
        {move || match shown.get() {
            None => view! { <SkeletonGrid count=8 /> }.into_any(),
            Some(list) if list.is_empty() => {
                view! { <p class="empty">"No product matches. Try fewer or other words."</p> }.into_any()
            }
            Some(list) => {
                view! {
                    <ul class="grid" data-testid="product-grid">
                        {list
                            .into_iter()
                            .enumerate()
                            .map(|(i, p)| view! { <ProductCard product=p position=i + 1 /> })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }
        }}
    }
}

#[component]
pub fn Listing() -> impl IntoView {
    let shop = use_shop();
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let category = Memo::new(move |_| shop.catalog.get().and_then(|c| c.category(&slug.get()).cloned()));
    let products = Signal::derive(move || {
        let c = shop.catalog.get()?;
        Some(c.in_category(&slug.get()).cloned().collect::<Vec<_>>())
    });
    view! {
        <section class="page">
            <nav class="crumbs" aria-label="Breadcrumb">
                <A href="/">"Home"</A>
                " / "
                <span aria-current="page">{move || category.get().map(|c| c.name).unwrap_or_default()}</span>
            </nav>
            <h1>{move || category.get().map(|c| c.name).unwrap_or_else(|| "…".into())}</h1>
            <p class="lead">{move || category.get().map(|c| c.description).unwrap_or_default()}</p>
            <ProductList
                products=products
                list_id=Signal::derive(move || format!("category-{}", slug.get()))
                category=Signal::derive(move || category.get().map(|c| c.name))
                path=Signal::derive(move || format!("/c/{}", slug.get()))
                show_filter=true
            />
        </section>
    }
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let shop = use_shop();
    let query = use_query_map();
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let products = Signal::derive(move || {
        let c = shop.catalog.get()?;
        let q = q.get();
        let blank = q.trim().is_empty();
        Some(c.products.iter().filter(|p| !blank && p.matches_query(&q)).cloned().collect::<Vec<_>>())
    });
    // One `search` event per query, with its number of results.
    let searched = StoredValue::new(String::new());
    Effect::new(move |_| {
        let (Some(results), query) = (products.get(), q.get()) else { return };
        if !query.trim().is_empty() && searched.get_value() != query {
            searched.set_value(query.clone());
            tracking::search(query.trim(), results.len());
        }
    });
    view! {
        <section class="page">
            <h1>{move || format!("Results for “{}”", q.get())}</h1>
            <ProductList
                products=products
                list_id=Signal::derive(|| "search".to_owned())
                category=Signal::derive(|| None)
                path=Signal::derive(|| "/search".to_owned())
            />
        </section>
    }
}
