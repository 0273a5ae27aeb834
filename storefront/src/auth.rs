//! Sign-in and sign-up against a Cognito user pool, from the browser, over Cognito's JSON API
//! (`InitiateAuth` with `USER_PASSWORD_AUTH`, `SignUp`, `ConfirmSignUp`, and `REFRESH_TOKEN_AUTH`).
//! The pool is named by `/config.json` (the local server answers it; in AWS it is a file of the
//! site); without a pool, sign-in is disabled with a message. Locally the pool lives in moto.

use js_sys::Function;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

use crate::api;
use crate::state::Shop;
use crate::tracking;

/// The site's configuration (`GET /config.json`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SiteConfig {
    #[serde(default)]
    pub auth: Option<AuthConfig>,
}

/// A Cognito user pool the shop signs shoppers in with.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    pub client_id: String,
    /// Cognito's API (`https://cognito-idp.<region>.amazonaws.com/`; an emulator's URL locally).
    pub endpoint: String,
    /// A ready account, shown on the sign-in page (local demo only).
    #[serde(default)]
    pub demo: Option<DemoAccount>,
    /// Whether sign-up confirmation codes are really sent (false in the local emulator, which takes any code).
    #[serde(default)]
    pub codes_sent: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
}

/// A signed-in shopper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub username: String,
    /// The token's `sub`: the `user_id` the ingest records.
    pub sub: String,
    pub email: String,
    pub id_token: String,
    pub refresh_token: Option<String>,
    /// When the id token expires, in ms since the epoch.
    pub expires_at: f64,
}

const SESSION_KEY: &str = "shopstream-demo-session";
/// A token this close to its expiry is refreshed before use.
const REFRESH_MARGIN_MS: f64 = 60_000.0;

/// The message of a sign-in to an account whose email is not confirmed yet (the page then asks
/// for the code).
pub const NOT_CONFIRMED: &str = "This account is not confirmed yet: enter the code you received.";

/// Cognito's answer to a failed call: `{"__type": "...Exception", "message": "..."}`.
#[derive(Debug, Deserialize)]
struct CognitoError {
    #[serde(rename = "__type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

async fn cognito(config: &AuthConfig, operation: &str, body: Value) -> Result<Value, String> {
    let target = format!("AWSCognitoIdentityProviderService.{operation}");
    let headers = [("content-type", "application/x-amz-json-1.1"), ("x-amz-target", target.as_str())];
    let (status, text) = api::request("POST", &config.endpoint, &headers, Some(&body.to_string()))
        .await
        .map_err(|e| format!("cannot reach the sign-in service: {e}"))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|e| format!("the sign-in service answered oddly: {e}"));
    }
    let error: CognitoError =
        serde_json::from_str(&text).unwrap_or(CognitoError { kind: format!("HTTP {status}"), message: text });
    let kind = error.kind.rsplit('#').next().unwrap_or_default().to_owned();
    Err(match kind.as_str() {
        "NotAuthorizedException" => "Wrong email or password.".to_owned(),
        "UserNotFoundException" => "No account with this email. Create one below.".to_owned(),
        "UsernameExistsException" => "An account with this email exists already: sign in instead.".to_owned(),
        "UserNotConfirmedException" => NOT_CONFIRMED.to_owned(),
        "InvalidPasswordException" | "InvalidParameterException" if !error.message.is_empty() => error.message,
        _ if !error.message.is_empty() => format!("{}: {}", kind, error.message),
        _ => kind,
    })
}

/// The claims of a JWT's payload (not verified here: the ingest verifies the signature).
fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let mut b64 = payload.replace('-', "+").replace('_', "/");
    while b64.len() % 4 != 0 {
        b64.push('=');
    }
    let text = web_sys::window()?.atob(&b64).ok()?;
    serde_json::from_str(&text).ok()
}

fn session_from(username: &str, result: &Value, refresh_token: Option<String>) -> Result<Session, String> {
    let result = &result["AuthenticationResult"];
    let id_token = result["IdToken"].as_str().ok_or("the sign-in answer has no id token")?.to_owned();
    let claims = claims(&id_token).ok_or("the id token cannot be read")?;
    let sub = claims["sub"].as_str().ok_or("the id token has no sub")?.to_owned();
    let email = claims["email"].as_str().unwrap_or(username).to_owned();
    let expires_in = result["ExpiresIn"].as_f64().unwrap_or(3600.0);
    Ok(Session {
        username: username.to_owned(),
        sub,
        email,
        id_token,
        refresh_token: result["RefreshToken"].as_str().map(str::to_owned).or(refresh_token),
        expires_at: api::now_ms() + expires_in * 1000.0,
    })
}

pub async fn sign_in(config: &AuthConfig, username: &str, password: &str) -> Result<Session, String> {
    let answer = cognito(
        config,
        "InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": config.client_id,
               "AuthParameters": {"USERNAME": username, "PASSWORD": password}}),
    )
    .await?;
    if let Some(challenge) = answer["ChallengeName"].as_str() {
        return Err(format!("the account needs the {challenge} step, which this demo does not do"));
    }
    session_from(username, &answer, None)
}

pub async fn sign_up(config: &AuthConfig, email: &str, password: &str) -> Result<bool, String> {
    let answer = cognito(
        config,
        "SignUp",
        json!({"ClientId": config.client_id, "Username": email, "Password": password,
               "UserAttributes": [{"Name": "email", "Value": email}]}),
    )
    .await?;
    Ok(answer["UserConfirmed"].as_bool().unwrap_or(false))
}

pub async fn confirm(config: &AuthConfig, email: &str, code: &str) -> Result<(), String> {
    cognito(config, "ConfirmSignUp", json!({"ClientId": config.client_id, "Username": email, "ConfirmationCode": code}))
        .await
        .map(|_| ())
}

async fn refresh(config: &AuthConfig, session: &Session) -> Result<Session, String> {
    let token = session.refresh_token.clone().ok_or("no refresh token")?;
    let answer = cognito(
        config,
        "InitiateAuth",
        json!({"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": config.client_id,
               "AuthParameters": {"REFRESH_TOKEN": token}}),
    )
    .await?;
    session_from(&session.username, &answer, session.refresh_token.clone())
}

/// What the sign-in pieces share: the site's auth config (None: disabled) once loaded.
#[derive(Clone, Copy)]
pub struct Auth {
    pub config: RwSignal<Option<SiteConfig>>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

/// Loads `/config.json`, restores a stored session and hands its token to the tracker.
pub fn start(shop: Shop) -> Auth {
    let auth = Auth { config: RwSignal::new(None) };
    spawn_local(async move {
        let config = api::get_json::<SiteConfig>("/config.json").await.unwrap_or_default();
        let pool = config.auth.clone();
        auth.config.set(Some(config));
        let stored: Option<Session> = api::load_session(SESSION_KEY).and_then(|s| serde_json::from_str(&s).ok());
        if let (Some(pool), Some(session)) = (pool, stored) {
            shop.session.set(Some(session));
            tracking::resume(&token_provider(shop, pool));
        }
    });
    auth
}

/// A function for the tracker's `setAuthToken`: the current id token, refreshed when it is about
/// to expire (signed out if the refresh fails).
fn token_provider(shop: Shop, config: AuthConfig) -> Function {
    let provider = Closure::<dyn Fn() -> js_sys::Promise>::new(move || {
        let config = config.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let Some(session) = shop.session.try_get_untracked().flatten() else { return Ok(JsValue::NULL) };
            if session.expires_at - REFRESH_MARGIN_MS > api::now_ms() {
                return Ok(session.id_token.into());
            }
            let refreshed = refresh(&config, &session).await;
            // The shopper may have signed out (or in again) while the refresh was on its way.
            let current = shop.session.try_get_untracked().flatten();
            if current.as_ref().map(|s| &s.id_token) != Some(&session.id_token) {
                return Ok(current.map(|s| JsValue::from(s.id_token)).unwrap_or(JsValue::NULL));
            }
            match refreshed {
                Ok(fresh) => {
                    api::save_session(SESSION_KEY, &serde_json::to_string(&fresh).unwrap_or_default());
                    let token = fresh.id_token.clone();
                    shop.session.try_set(Some(fresh));
                    Ok(token.into())
                }
                Err(_) => {
                    sign_out(shop);
                    Ok(JsValue::NULL)
                }
            }
        })
    });
    provider.into_js_value().unchecked_into()
}

/// After a successful sign-in: keep the session, tell the tracker who this is.
pub fn signed_in(shop: Shop, config: AuthConfig, session: Session) {
    api::save_session(SESSION_KEY, &serde_json::to_string(&session).unwrap_or_default());
    let (sub, email) = (session.sub.clone(), session.email.clone());
    shop.session.set(Some(session));
    let provider = token_provider(shop, config);
    spawn_local(async move {
        // What was tracked before the sign-in leaves without the token: a token applies to every
        // event of a batch, and those events were anonymous (the processor then hands the
        // anonymous history to the user once, on the `identify`).
        tracking::flush().await;
        tracking::signed_in(&sub, &email, &provider);
        shop.interacted();
    });
}

pub fn sign_out(shop: Shop) {
    api::forget_session(SESSION_KEY);
    shop.session.set(None);
    tracking::signed_out();
    shop.interacted();
}
