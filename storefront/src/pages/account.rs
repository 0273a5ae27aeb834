//! Sign in, sign up (with the confirmation code) and sign out, against the site's Cognito user pool.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::auth::{self, use_auth, AuthConfig};
use crate::state::use_shop;

/// Cognito's shortest password by default (the pool checks the rest of its policy and says what is missing).
const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    SignIn,
    SignUp,
    Confirm,
}

#[component]
pub fn Account() -> impl IntoView {
    let shop = use_shop();
    let auth_state = use_auth();
    move || {
        match auth_state.config.get() {
        None => view! { <section class="page narrow" aria-busy="true"></section> }.into_any(),
        Some(config) => match config.auth {
            None => view! {
                <section class="page narrow" data-testid="auth-disabled">
                    <h1>"Sign in"</h1>
                    <p class="problem" role="note">
                        "Sign-in is not available: this shop has no Cognito user pool configured. "
                        "You can shop and check out as a guest. (Locally, " <code>"cargo xtask demo"</code>
                        " starts a user pool in the moto emulator and signs you in against it.)"
                    </p>
                </section>
            }
                .into_any(),
            Some(pool) => match shop.session.get() {
                Some(session) => view! {
                    <section class="page narrow" data-testid="signed-in">
                        <h1>"Your account"</h1>
                        <p>"Signed in as " <strong data-testid="signed-in-email">{session.email.clone()}</strong> "."</p>
                        <p class="meta">"Your user id: " <code data-testid="user-id">{session.sub.clone()}</code></p>
                        <button data-testid="sign-out" on:click=move |_| auth::sign_out(shop)>"Sign out"</button>
                    </section>
                }
                    .into_any(),
                None => view! { <SignInForms pool=pool /> }.into_any(),
            },
        },
    }
    }
}

#[component]
fn SignInForms(pool: AuthConfig) -> impl IntoView {
    let shop = use_shop();
    let mode = RwSignal::new(Mode::SignIn);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let info = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let pool = StoredValue::new(pool);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let (e, p, c) = (email.get_untracked().trim().to_owned(), password.get_untracked(), code.get_untracked());
        // The password is needed in every mode: a confirmed account is signed in at once.
        if e.is_empty() || p.is_empty() {
            error.set("Please enter your email and password.".into());
            return;
        }
        if mode.get_untracked() == Mode::SignUp && p.chars().count() < MIN_PASSWORD_CHARS {
            error.set(format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters."));
            return;
        }
        error.set(String::new());
        busy.set(true);
        let config = pool.get_value();
        spawn_local(async move {
            let outcome = match mode.get_untracked() {
                Mode::SignIn => auth::sign_in(&config, &e, &p).await.map(Some),
                Mode::SignUp => match auth::sign_up(&config, &e, &p).await {
                    Ok(true) => auth::sign_in(&config, &e, &p).await.map(Some),
                    Ok(false) => {
                        mode.try_set(Mode::Confirm);
                        info.try_set(if config.codes_sent {
                            format!("We sent a confirmation code to {e}. Enter it below.")
                        } else {
                            "Enter any code: the local emulator does not send emails and accepts every code.".into()
                        });
                        Ok(None)
                    }
                    Err(e) => Err(e),
                },
                Mode::Confirm => match auth::confirm(&config, &e, c.trim()).await {
                    Ok(()) => auth::sign_in(&config, &e, &p).await.map(Some),
                    Err(e) => Err(e),
                },
            };
            busy.try_set(false);
            match outcome {
                Ok(Some(session)) => {
                    shop.notice.set(format!("Welcome, {}.", session.email));
                    auth::signed_in(shop, config, session);
                }
                Ok(None) => {}
                Err(message) => {
                    if message == auth::NOT_CONFIRMED {
                        mode.try_set(Mode::Confirm);
                    }
                    error.try_set(message);
                }
            }
        });
    };

    let demo = pool.with_value(|p| p.demo.clone());
    let heading = move || match mode.get() {
        Mode::SignIn => "Sign in",
        Mode::SignUp => "Create an account",
        Mode::Confirm => "Confirm your email",
    };
    view! {
        <section class="page narrow account">
            <h1>{heading}</h1>
            {demo
                .map(|d| {
                    let (u, p) = (d.username.clone(), d.password.clone());
                    view! {
                        <p class="hint" data-testid="demo-account">
                            "Demo account: " <code>{d.username}</code> " / " <code>{d.password}</code> " "
                            <button
                                type="button"
                                class="link"
                                data-testid="use-demo"
                                on:click=move |_| {
                                    mode.set(Mode::SignIn);
                                    email.set(u.clone());
                                    password.set(p.clone());
                                }
                            >
                                "Use it"
                            </button>
                        </p>
                    }
                })}
            <form class="auth" on:submit=submit novalidate>
                <p class="field">
                    <label for="auth-email">"Email"</label>
                    <input id="auth-email" type="email" autocomplete="username" data-testid="auth-email" bind:value=email />
                </p>
                <p class="field">
                    <label for="auth-password">"Password"</label>
                    <input
                        id="auth-password"
                        type="password"
                        autocomplete=move || if mode.get() == Mode::SignUp { "new-password" } else { "current-password" }
                        data-testid="auth-password"
                        bind:value=password
                    />
                </p>
                <p class="field" hidden=move || mode.get() != Mode::Confirm>
                    <label for="auth-code">"Confirmation code"</label>
                    <input id="auth-code" inputmode="numeric" autocomplete="one-time-code" data-testid="auth-code" bind:value=code />
                </p>
                <p class="info" aria-live="polite">{move || info.get()}</p>
                <p class="error" role="alert" data-testid="auth-error">{move || error.get()}</p>
                <button class="primary big" type="submit" data-testid="auth-submit" disabled=move || busy.get()>
                    {heading}
                </button>
            </form>
            <p>
                {move || match mode.get() {
                    Mode::SignIn => view! {
                        "New here? "
                        <button type="button" class="link" data-testid="to-sign-up" on:click=move |_| mode.set(Mode::SignUp)>
                            "Create an account"
                        </button>
                    }
                        .into_any(),
                    _ => view! {
                        "Have an account? "
                        <button type="button" class="link" on:click=move |_| mode.set(Mode::SignIn)>"Sign in"</button>
                    }
                        .into_any(),
                }}
            </p>
        </section>
    }
}
