//! What the edge adds to an accepted event before it leaves: when it was received, its time corrected
//! for the device's clock, a truncated client network, the parsed user agent, a bot flag and the
//! viewer's country. The raw client IP is used here and nowhere else: it is never stored or logged.

use std::net::IpAddr;

use event_schema::Timestamp;
use serde::Serialize;

/// What the transport knows about the request that carried a batch (filled by the HTTP adapter).
#[derive(Clone, Debug, Default)]
pub struct RequestContext {
    /// The client's address as the edge saw it (the socket peer locally; API Gateway's source IP).
    pub client_ip: Option<IpAddr>,
    /// The request's `User-Agent` header.
    pub user_agent: Option<String>,
    /// CloudFront's `CloudFront-Viewer-Country` header (ISO 3166-1 alpha-2), when present.
    pub viewer_country: Option<String>,
    /// The bearer token of `Authorization: Bearer ...`, when sent.
    pub bearer_token: Option<String>,
    /// The site whose write key the request carried.
    pub site: Option<String>,
}

/// The server-side context of an event, as stored and forwarded (`"edge": {...}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EdgeContext {
    /// The site whose write key the batch carried (none on an open local server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The client network: IPv4 truncated to /24, IPv6 to /48 (e.g. `"203.0.113.0/24"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<Software>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Software>,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: DeviceClass,
    /// A known crawler, bot, monitoring agent or headless/automated browser.
    pub bot: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Software {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    Desktop,
    Mobile,
    Tablet,
    Bot,
    #[default]
    Other,
}

/// The client network of `ip`: IPv4 /24, IPv6 /48 (IPv4-mapped IPv6 is treated as IPv4).
pub fn ip_prefix(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{net}/48")
        }
    }
}

/// A device's clock can be wrong: the event time is shifted by what the batch's `sent_at` (device
/// clock) was off from `received_at` (server clock), as Segment and Snowplow do. The network delay
/// is counted as skew; the result is never later than `received_at`.
pub fn corrected_time(occurred_at: Timestamp, sent_at: Timestamp, received_at: Timestamp) -> Timestamp {
    let skew = received_at.0 - sent_at.0;
    Timestamp(occurred_at.0.saturating_add(skew).min(received_at.0))
}

/// Only a two-letter upper-case country code is kept (a header is text a client could forge when
/// CloudFront is not in front; this bounds what it can inject).
pub fn country(header: Option<&str>) -> Option<String> {
    let c = header?.trim();
    (c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())).then(|| c.to_string())
}

/// Substrings (lower-case) of user agents that are automated, beyond what the parser knows.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "headless",
    "lighthouse",
    "pingdom",
    "uptime",
    "monitor",
    "python-requests",
    "python-urllib",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "axios/",
    "node-fetch",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "facebookexternalhit",
    "preview",
    "scrapy",
    "httpclient",
];

/// Parses a user agent (with the `woothee` crate's maintained dataset) into browser, OS, device
/// class and a bot flag.
pub fn user_agent(ua: Option<&str>) -> (Option<Software>, Option<Software>, DeviceClass, bool) {
    let Some(ua) = ua.map(str::trim).filter(|s| !s.is_empty()) else {
        return (None, None, DeviceClass::Other, false);
    };
    let lower = ua.to_ascii_lowercase();
    let marked = BOT_MARKERS.iter().any(|m| lower.contains(m));
    let Some(parsed) = woothee::parser::Parser::new().parse(ua) else {
        return (None, None, if marked { DeviceClass::Bot } else { DeviceClass::Other }, marked);
    };
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    let version = |v: &str| known(v).then(|| v.to_string());
    let browser =
        known(parsed.name).then(|| Software { name: parsed.name.to_string(), version: version(parsed.version) });
    let os = known(parsed.os).then(|| Software { name: parsed.os.to_string(), version: version(&parsed.os_version) });
    let tablet =
        lower.contains("ipad") || (lower.contains("android") && !lower.contains("mobile")) || lower.contains("tablet");
    let bot = marked || parsed.category == "crawler";
    let device = match parsed.category {
        _ if bot => DeviceClass::Bot,
        "smartphone" | "mobilephone" if tablet => DeviceClass::Tablet,
        "smartphone" | "mobilephone" => DeviceClass::Mobile,
        "pc" => DeviceClass::Desktop,
        _ => DeviceClass::Other,
    };
    (browser, os, device, bot)
}

/// The edge context of one request (shared by its events, unless an event carries its own
/// `context.user_agent`, as server-side senders do for the shopper's browser).
pub fn edge_context(request: &RequestContext, event_user_agent: Option<&str>) -> EdgeContext {
    let (browser, os, device, bot) = user_agent(event_user_agent.or(request.user_agent.as_deref()));
    EdgeContext {
        site: request.site.clone(),
        ip_prefix: request.client_ip.map(ip_prefix),
        country: country(request.viewer_country.as_deref()),
        browser,
        os,
        device,
        bot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_prefixes_drop_the_host_part() {
        assert_eq!(ip_prefix("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(ip_prefix("2001:db8:1234:5678:9abc::1".parse().unwrap()), "2001:db8:1234::/48");
        assert_eq!(ip_prefix("::ffff:198.51.100.9".parse().unwrap()), "198.51.100.0/24");
        assert_eq!(ip_prefix("::1".parse().unwrap()), "::/48");
    }

    #[test]
    fn event_time_is_corrected_by_the_device_clock_skew() {
        // Device clock 1 h behind: sent_at 09:00:05 device time, received 10:00:05 server time.
        let t = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
        let fixed = corrected_time(t("2026-11-22T09:00:00Z"), t("2026-11-22T09:00:05Z"), t("2026-11-22T10:00:05Z"));
        assert_eq!(fixed, t("2026-11-22T10:00:00Z"));
        // Device clock ahead: shifted back.
        let fixed = corrected_time(t("2026-11-22T10:30:00Z"), t("2026-11-22T10:30:05Z"), t("2026-11-22T10:00:05Z"));
        assert_eq!(fixed, t("2026-11-22T10:00:00Z"));
        // Never after it was received.
        let fixed = corrected_time(t("2026-11-22T10:00:09Z"), t("2026-11-22T10:00:05Z"), t("2026-11-22T10:00:05Z"));
        assert_eq!(fixed, t("2026-11-22T10:00:05Z"));
    }

    #[test]
    fn countries_are_two_upper_case_letters_or_nothing() {
        assert_eq!(country(Some("DE")), Some("DE".into()));
        assert_eq!(country(Some("de")), None);
        assert_eq!(country(Some("DEU")), None);
        assert_eq!(country(Some("<script>")), None);
        assert_eq!(country(None), None);
    }

    const CHROME_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const SAFARI_IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const FIREFOX_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    const HEADLESS: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36";

    #[test]
    fn user_agents_are_parsed_into_browser_os_and_device() {
        let (browser, os, device, bot) = user_agent(Some(CHROME_MAC));
        assert_eq!(browser.unwrap().name, "Chrome");
        assert_eq!(os.unwrap().name, "Mac OSX");
        assert_eq!((device, bot), (DeviceClass::Desktop, false));

        let (browser, os, device, bot) = user_agent(Some(SAFARI_IPHONE));
        assert_eq!(browser.unwrap().name, "Safari");
        assert_eq!(os.unwrap().name, "iPhone");
        assert_eq!((device, bot), (DeviceClass::Mobile, false));

        assert_eq!(user_agent(Some(SAFARI_IPAD)).2, DeviceClass::Tablet);
        let (browser, os, device, _) = user_agent(Some(FIREFOX_WINDOWS));
        assert_eq!(browser.unwrap(), Software { name: "Firefox".into(), version: Some("133.0".into()) });
        assert_eq!(os.unwrap().name, "Windows 10");
        assert_eq!(device, DeviceClass::Desktop);
    }

    #[test]
    fn crawlers_and_automation_are_flagged() {
        for ua in [GOOGLEBOT, HEADLESS, "curl/8.5.0", "python-requests/2.32", "Pingdom.com_bot_version_1.4"] {
            let (_, _, device, bot) = user_agent(Some(ua));
            assert!(bot, "{ua} is a bot");
            assert_eq!(device, DeviceClass::Bot, "{ua}");
        }
        assert_eq!(user_agent(None), (None, None, DeviceClass::Other, false));
        assert_eq!(user_agent(Some("")), (None, None, DeviceClass::Other, false));
    }

    #[test]
    fn the_event_user_agent_wins_over_the_request_header() {
        let request = RequestContext {
            client_ip: Some("203.0.113.77".parse().unwrap()),
            user_agent: Some("python-requests/2.32".into()),
            viewer_country: Some("FR".into()),
            bearer_token: None,
            site: Some("demo".into()),
        };
        let edge = edge_context(&request, Some(CHROME_MAC));
        assert_eq!(edge.ip_prefix.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(edge.country.as_deref(), Some("FR"));
        assert_eq!(edge.site.as_deref(), Some("demo"));
        assert!(!edge.bot);
        assert!(edge_context(&request, None).bot);
        let json = serde_json::to_string(&edge).unwrap();
        assert!(!json.contains("203.0.113.77"), "the raw IP never leaves: {json}");
    }
}
