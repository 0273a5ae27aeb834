//! The live dashboard (`/dashboard`): the local stack's figures, refreshed live.

use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Live dashboard"</h1>
        </section>
    }
}
