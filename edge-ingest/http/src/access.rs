//! Who may send events: public write keys per site, and the browser origins each site allows (CORS).
//!
//! - A request names its site by its write key: the `X-Write-Key` header, the `write_key` query
//!   parameter (for beacons and for cross-origin posts that must stay free of a preflight), or, on the
//!   Segment-compatible routes, the Basic auth user. Missing or unknown: `403`.
//! - A browser request (it has an `Origin`) must come from one of its site's allowed origins, or from
//!   the ingest's own origin (`Origin` equal to the `Host` it was sent to). Answers echo the allowed
//!   origin, never `*`, and never `Access-Control-Allow-Credentials` (the tracker sends no cookies). A
//!   refusal (4xx) also echoes the origin, so the tracker can read the reason and stop retrying.
//! - Preflights (`OPTIONS`) are answered `204` for an allowed origin (of the key in the query, or of
//!   any site when the key travels in a header, which a preflight does not carry), `403` otherwise.
//! - [`Access::Open`] (the local server with no key configured) accepts any request from any origin.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// One site: its name (stored with its events) and the browser origins allowed to send for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    pub name: String,
    /// Exact origins such as `https://shop.example` (scheme, host and port; no path, no wildcard).
    pub allowed_origins: Vec<String>,
}

/// The access policy of the ingest routes.
#[derive(Clone, Debug)]
pub enum Access {
    /// Any request, any origin (the local demo's default; the server says so in its log).
    Open,
    /// Write key -> site.
    WriteKeys(Arc<HashMap<String, Site>>),
}

/// The site a request was accepted for (a request extension, read by the handlers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteName(pub String);

pub(crate) const WRITE_KEY_HEADER: HeaderName = HeaderName::from_static("x-write-key");
const ALLOWED_HEADERS: &str = "content-type, content-encoding, authorization, x-write-key";
const PREFLIGHT_MAX_AGE_SECS: &str = "7200";

/// Whether `origin` is an exact origin an allow-list may hold: `http(s)://host[:port]`, no path, no
/// wildcard.
pub fn is_valid_origin(origin: &str) -> bool {
    (origin.starts_with("https://") || origin.starts_with("http://"))
        && !origin.contains('*')
        && origin.splitn(4, '/').nth(3).is_none()
}

impl Access {
    pub fn write_keys(keys: impl IntoIterator<Item = (String, Site)>) -> Self {
        Access::WriteKeys(Arc::new(keys.into_iter().collect()))
    }

    fn origin_allowed(&self, site: Option<&Site>, origin: &str, headers: &HeaderMap) -> bool {
        if same_origin(origin, headers) {
            return true;
        }
        match (self, site) {
            (Access::Open, _) => true,
            (Access::WriteKeys(_), Some(site)) => site.allowed_origins.iter().any(|o| o == origin),
            (Access::WriteKeys(keys), None) => keys.values().any(|s| s.allowed_origins.iter().any(|o| o == origin)),
        }
    }
}

/// The middleware in front of the ingest routes.
pub(crate) async fn enforce(State(access): State<Access>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    let key = write_key(request.uri().query(), headers);
    let site = match (&access, key.as_deref()) {
        (Access::WriteKeys(keys), Some(k)) => keys.get(k),
        _ => None,
    };

    if request.method() == Method::OPTIONS {
        let site = if key.is_some() && site.is_none() { return forbidden_preflight() } else { site };
        return match origin {
            Some(o) if access.origin_allowed(site, &o, request.headers()) => preflight_ok(&o),
            _ => forbidden_preflight(),
        };
    }

    let refusal = match (&access, key.as_deref(), site) {
        (Access::Open, _, _) => None,
        (Access::WriteKeys(_), None, _) => Some(ApiError::Forbidden(
            "a write key is required: send it as the X-Write-Key header or the write_key query parameter".into(),
        )),
        (Access::WriteKeys(_), Some(_), None) => Some(ApiError::Forbidden("unknown write key".into())),
        (Access::WriteKeys(_), Some(_), Some(_)) => None,
    };
    let refusal = refusal.or_else(|| match &origin {
        Some(o) if !access.origin_allowed(site, o, request.headers()) => {
            Some(ApiError::Forbidden(format!("origin {o:?} is not allowed for this write key")))
        }
        _ => None,
    });
    if let Some(error) = refusal {
        let mut response = error.into_response();
        if let Some(o) = &origin {
            allow_origin(response.headers_mut(), o);
        }
        return response;
    }
    if let Some(site) = site {
        request.extensions_mut().insert(SiteName(site.name.clone()));
    }
    let mut response = next.run(request).await;
    if let Some(o) = &origin {
        allow_origin(response.headers_mut(), o);
    }
    response
}

fn write_key(query: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get(WRITE_KEY_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(k.trim().to_string());
    }
    if let Some(k) = query.into_iter().flat_map(|q| q.split('&')).find_map(|p| p.strip_prefix("write_key=")) {
        return Some(percent_decode(k));
    }
    basic_auth_user(headers)
}

/// Segment's clients send the write key as the Basic auth user (password empty).
fn basic_auth_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let user = decoded.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
}

fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn preflight_ok(origin: &str) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    allow_origin(h, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECS));
    r
}

fn forbidden_preflight() -> Response {
    StatusCode::FORBIDDEN.into_response()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_keys_and_basic_auth_users() {
        assert_eq!(percent_decode("wk%5F1+x"), "wk_1 x");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(base64_decode("d2tfZGVtbzo=").unwrap(), b"wk_demo:");
        assert_eq!(base64_decode("YQ").unwrap(), b"a");
        assert!(base64_decode("*").is_none());
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic d2tfZGVtbzo="));
        assert_eq!(basic_auth_user(&h).as_deref(), Some("wk_demo"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(basic_auth_user(&h), None);
    }
}
