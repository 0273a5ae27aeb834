//! The few browser calls the shop makes itself: JSON over `fetch`, `localStorage`, timers.

use js_sys::Promise;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Why a call failed, in words a shopper can read (the status is kept for the caller's decisions).
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub status: Option<u16>,
    pub message: String,
}

impl ApiError {
    fn network(e: JsValue) -> ApiError {
        let message = e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()));
        ApiError { status: None, message: message.unwrap_or_else(|| "the network request failed".into()) }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn window() -> web_sys::Window {
    web_sys::window().expect("the shop runs in a browser window")
}

/// `GET url` and its JSON body as `T`.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    let (status, body) = request("GET", url, &[], None).await?;
    if !(200..300).contains(&status) {
        return Err(ApiError { status: Some(status), message: format!("{url} answered HTTP {status}") });
    }
    serde_json::from_str(&body).map_err(|e| ApiError { status: Some(status), message: format!("{url}: {e}") })
}

/// One request; answers the status and the body's text (whatever the status).
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<(u16, String), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(ApiError::network)?;
    for (name, value) in headers {
        request.headers().set(name, value).map_err(ApiError::network)?;
    }
    let response: Response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .and_then(|r| r.dyn_into())
        .map_err(ApiError::network)?;
    let text = JsFuture::from(response.text().map_err(ApiError::network)?).await.map_err(ApiError::network)?;
    Ok((response.status(), text.as_string().unwrap_or_default()))
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let p = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(p).await;
}

/// `localStorage` (absent in some private modes: then nothing is kept across reloads).
fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

pub fn load(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

pub fn save(key: &str, value: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
}

/// `sessionStorage`: the tab's sign-in survives a reload, not the browser's closing, and other tabs
/// do not see the tokens.
fn session_storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

pub fn load_session(key: &str) -> Option<String> {
    session_storage()?.get_item(key).ok().flatten()
}

pub fn save_session(key: &str, value: &str) {
    if let Some(s) = session_storage() {
        let _ = s.set_item(key, value);
    }
}

pub fn forget_session(key: &str) {
    if let Some(s) = session_storage() {
        let _ = s.remove_item(key);
    }
}

/// A random id (`crypto.randomUUID()`), for carts and orders.
pub fn random_id() -> String {
    window().crypto().map(|c| c.random_uuid()).unwrap_or_else(|_| format!("{:x}", js_sys::Date::now() as u64))
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn set_title(title: &str) {
    if let Some(doc) = window().document() {
        doc.set_title(title);
    }
}

pub fn scroll_to_top() {
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

/// Moves the focus to the page's `<main id="main" tabindex="-1">`.
pub fn focus_main() {
    use wasm_bindgen::JsCast;
    let main = window().document().and_then(|d| d.get_element_by_id("main"));
    if let Some(el) = main.and_then(|m| m.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
    }
}
