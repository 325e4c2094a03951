//! Property tests for the parsers that read what a client sends: any input gives a value or a 4xx
//! problem, never a panic, and what the server writes reads back as it was.

use std::net::IpAddr;

use axum::{
    body::Body,
    extract::FromRequest,
    http::{HeaderMap, HeaderValue, Request, header},
};
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use neoforge::{
    auth::tokens::TokenKeys,
    error::ApiError,
    http::{client_ip, conditional, extract, idempotency, list},
    security::report,
};
use proptest::prelude::*;
use uuid::Uuid;

const KEY: [u8; 32] = [7; 32];

fn is_client_error(e: &ApiError) -> bool {
    e.status.is_client_error()
}

fn header_map(name: header::HeaderName, raw: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(raw).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

fn time() -> impl Strategy<Value = DateTime<Utc>> {
    // Microsecond precision, like every stored timestamp, from 1970 to 2200.
    (0i64..7_258_118_400_000_000).prop_map(|us| DateTime::from_timestamp_micros(us).unwrap())
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cursor_round_trips_time_and_text(t in time(), text in ".{0,80}", id in uuid(), scope in "[a-z:=,-]{1,40}") {
        let c = list::encode_cursor(&KEY, &scope, &list::SortValue::Time(t), id);
        prop_assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)), "URL-safe: {c}");
        let (v, back) = list::decode_cursor(&KEY, &scope, list::SortKind::Time, &c).unwrap();
        prop_assert_eq!(v, list::SortValue::Time(t));
        prop_assert_eq!(back, id);
        let c = list::encode_cursor(&KEY, &scope, &list::SortValue::Text(text.clone()), id);
        let (v, _) = list::decode_cursor(&KEY, &scope, list::SortKind::Text, &c).unwrap();
        prop_assert_eq!(v, list::SortValue::Text(text));
    }

    #[test]
    fn a_cursor_for_another_scope_or_key_is_refused(t in time(), id in uuid(), scope in "[a-z]{1,20}", other in "[a-z]{1,20}") {
        prop_assume!(scope != other);
        let c = list::encode_cursor(&KEY, &scope, &list::SortValue::Time(t), id);
        let e = list::decode_cursor(&KEY, &other, list::SortKind::Time, &c).unwrap_err();
        prop_assert_eq!(e.code.as_str(), "invalid_cursor");
        let e = list::decode_cursor(&[8; 32], &scope, list::SortKind::Time, &c).unwrap_err();
        prop_assert_eq!(e.code.as_str(), "invalid_cursor");
    }

    #[test]
    fn a_tampered_cursor_is_refused(t in time(), id in uuid(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let c = list::encode_cursor(&KEY, "s", &list::SortValue::Time(t), id);
        let mut bytes = c.clone().into_bytes();
        let i = at.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let tampered = String::from_utf8_lossy(&bytes).into_owned();
        prop_assume!(tampered != c);
        let e = list::decode_cursor(&KEY, "s", list::SortKind::Time, &tampered).unwrap_err();
        prop_assert_eq!(e.code.as_str(), "invalid_cursor");
    }

    #[test]
    fn any_cursor_text_is_a_value_or_a_400(raw in ".{0,200}", kind in prop_oneof![Just(list::SortKind::Time), Just(list::SortKind::Text)]) {
        if let Err(e) = list::decode_cursor(&KEY, "s", kind, &raw) {
            prop_assert_eq!(e.status.as_u16(), 400);
        }
    }

    #[test]
    fn etag_matches_itself_and_nothing_else(a in prop::collection::vec(any::<u8>(), 0..300), b in prop::collection::vec(any::<u8>(), 0..300)) {
        let (ta, tb) = (conditional::etag_of(&a), conditional::etag_of(&b));
        let headers = header_map(header::IF_MATCH, ta.as_bytes()).unwrap();
        prop_assert!(conditional::check_if_match(&headers, &ta).is_ok());
        let none = header_map(header::IF_NONE_MATCH, format!("W/{ta}, \"x\"").as_bytes()).unwrap();
        prop_assert!(conditional::none_match_hits(&none, &ta));
        if a != b {
            prop_assert_ne!(&ta, &tb);
            let e = conditional::check_if_match(&headers, &tb).unwrap_err();
            prop_assert_eq!(e.status.as_u16(), 412);
            prop_assert!(e.headers.iter().any(|(n, v)| n == header::ETAG && v == tb.as_str()), "412 carries the current ETag");
        }
    }

    #[test]
    fn any_if_match_header_is_ok_or_a_412(raw in prop::collection::vec(any::<u8>(), 0..120)) {
        let current = conditional::etag_of(b"current");
        if let Some(headers) = header_map(header::IF_MATCH, &raw) {
            if let Err(e) = conditional::check_if_match(&headers, &current) {
                prop_assert_eq!(e.status.as_u16(), 412);
            }
            let _ = conditional::none_match_hits(&headers, &current);
        }
    }

    #[test]
    fn idempotency_keys_are_exactly_1_to_255_printable_ascii(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        let Some(headers) = header_map(header::HeaderName::from_static("idempotency-key"), &raw) else {
            return Ok(());
        };
        let valid = !raw.is_empty() && raw.len() <= 255 && raw.iter().all(|b| (0x20..=0x7e).contains(b));
        match idempotency::parse_key(&headers) {
            Ok(Some(key)) => {
                prop_assert!(valid);
                prop_assert_eq!(key.as_bytes(), &raw[..]);
            }
            Ok(None) => prop_assert!(false, "a present header is never ignored"),
            Err(e) => {
                prop_assert!(!valid, "{raw:?} is valid");
                prop_assert_eq!(e.code.as_str(), "invalid_idempotency_key");
            }
        }
    }

    #[test]
    fn csp_report_parsing_never_panics_and_counts_what_it_cannot_read(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let parsed = report::parse(&body);
        if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
            prop_assert_eq!(parsed.invalid, 1);
            prop_assert!(parsed.violations.is_empty());
        }
    }

    #[test]
    fn csp_reports_in_either_format_are_read(directive in "(script|style|img|connect)-src", path in "/[a-z]{0,12}", query in "[a-z=&]{0,20}") {
        let legacy = serde_json::json!({"csp-report": {
            "document-uri": format!("https://app.example.com{path}?{query}"),
            "violated-directive": directive,
            "effective-directive": directive,
            "blocked-uri": "https://evil.example.net/x.js?secret=1",
            "disposition": "enforce"
        }});
        let modern = serde_json::json!([{"type": "csp-violation", "body": {
            "documentURL": format!("https://app.example.com{path}?{query}"),
            "effectiveDirective": directive,
            "blockedURL": "https://evil.example.net/x.js?secret=1",
            "disposition": "report"
        }}]);
        for body in [legacy, modern] {
            let parsed = report::parse(body.to_string().as_bytes());
            prop_assert_eq!(parsed.violations.len(), 1, "{}", body);
            let text = format!("{:?}", parsed.violations[0]);
            prop_assert!(!text.contains("secret"), "no query string is kept: {text}");
        }
    }

    #[test]
    fn access_tokens_round_trip_and_any_other_text_is_refused(user in uuid(), session in uuid(), junk in ".{0,300}", at in any::<prop::sample::Index>()) {
        let keys = TokenKeys::new(b"a secret key that is long enough for tests", std::time::Duration::from_secs(900));
        let now = Utc::now().timestamp();
        let token = keys.issue(user, session, now);
        let claims = keys.verify(&token).expect("a fresh token verifies");
        prop_assert_eq!((claims.user_id, claims.session_id), (user, session));
        prop_assert!(keys.verify(&junk).is_none());
        // Any one character changed in the signature, payload or header: refused.
        let mut bytes = token.clone().into_bytes();
        let i = at.index(bytes.len());
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        if tampered != token {
            prop_assert!(keys.verify(&tampered).is_none(), "{tampered}");
        }
        let other = TokenKeys::new(b"another secret key, just as long as the first", std::time::Duration::from_secs(900));
        prop_assert!(other.verify(&token).is_none());
    }

    #[test]
    fn client_ip_is_the_peer_unless_the_peer_is_a_trusted_proxy(peer in any::<IpAddr>(), xff in prop::collection::vec(any::<IpAddr>(), 0..5), junk in "[ -~]{0,40}") {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()];
        let mut headers = HeaderMap::new();
        let list: Vec<String> = xff.iter().map(|ip| ip.to_string()).chain([junk]).collect();
        if let Ok(v) = HeaderValue::from_str(&list.join(", ")) {
            headers.insert("x-forwarded-for", v);
        }
        let ip = client_ip::resolve(peer, &headers, &trusted);
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
        let canonical = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if !is_trusted(&canonical(peer)) {
            // An untrusted peer's header is never believed.
            prop_assert_eq!(ip, canonical(peer));
        } else if let Some(stranger) = xff.iter().copied().map(canonical).rev().find(|h| !is_trusted(h)) {
            // The right-most hop that is not one of our proxies.
            prop_assert_eq!(ip, stranger);
        }
        let _ = client_ip::truncated_network(ip);
    }

    #[test]
    fn any_form_body_is_a_value_or_a_4xx(body in prop::collection::vec(any::<u8>(), 0..400), content_type in prop_oneof![
        Just("application/x-www-form-urlencoded"), Just("application/x-www-form-urlencoded; charset=utf-8"), Just("text/plain"), Just("application/json")
    ]) {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Form { username: String, password: String, grant_type: Option<String>, totp_code: Option<String> }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let req = Request::builder().method("POST").uri("/").header(header::CONTENT_TYPE, content_type).body(Body::from(body)).unwrap();
        if let Err(e) = rt.block_on(extract::ApiForm::<Form>::from_request(req, &())) {
            prop_assert!(is_client_error(&e), "{:?}", e.status);
        }
    }

    #[test]
    fn forms_round_trip_what_a_browser_sends(username in ".{1,60}", password in ".{1,60}") {
        #[derive(serde::Deserialize, Debug)]
        struct Form { username: String, password: String }
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &username).append_pair("password", &password).finish();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let req = Request::builder().method("POST").uri("/").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(body)).unwrap();
        let extract::ApiForm(form) = rt.block_on(extract::ApiForm::<Form>::from_request(req, &())).unwrap();
        prop_assert_eq!(form.username, username);
        prop_assert_eq!(form.password, password);
    }

    #[test]
    fn any_query_string_is_a_value_or_a_4xx(query in "[ -~]{0,120}") {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Query { page: Option<i64>, page_size: Option<i64>, cursor: Option<String>, include_total: Option<bool>, q: Option<String> }
        if let Err(e) = extract::parse_query::<Query>(&query) {
            prop_assert!(is_client_error(&e));
        }
    }
}
