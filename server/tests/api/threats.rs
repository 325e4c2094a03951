//! The threat guard (spec §8), both sides: a corpus of attacks that must be blocked, and a corpus of
//! legitimate requests (quotes, semicolons, SQL words, markup, emoji) that must never be.

use reqwest::{Method, Response};
use serde_json::json;

use crate::{
    rate_limit::metric,
    support::{TestApp, assert_problem},
};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Attacks, each sent from its own forwarded address so no IP block hides the reason.
const ATTACKS: &[(&str, &str, &str)] = &[
    // (user agent, path and query, expected reason)
    (
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "/api/v1/config",
        "scanner_user_agent",
    ),
    (
        "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000001)",
        "/",
        "scanner_user_agent",
    ),
    (
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "/health",
        "scanner_user_agent",
    ),
    (
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
        "/",
        "scanner_user_agent",
    ),
    ("Mozilla/5.0 zgrab/0.x", "/", "scanner_user_agent"),
    (
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "/api/v1/config",
        "scanner_user_agent",
    ),
    (
        "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
        "/",
        "scanner_user_agent",
    ),
    (FIREFOX, "/wp-admin/", "probe_path"),
    (FIREFOX, "/wp-login.php", "probe_path"),
    (FIREFOX, "/.env", "probe_path"),
    (FIREFOX, "/.env.production", "probe_path"),
    (FIREFOX, "/.git/config", "probe_path"),
    (FIREFOX, "/index.php", "probe_path"),
    (FIREFOX, "/phpmyadmin/index.php", "probe_path"),
    (FIREFOX, "/cgi-bin/test.cgi", "probe_path"),
    (FIREFOX, "/xmlrpc.php", "probe_path"),
    (FIREFOX, "/admin/config.PHP", "probe_path"),
    (
        FIREFOX,
        "/api/v1/config?id=1 UNION SELECT password FROM users",
        "sql_injection",
    ),
    (
        FIREFOX,
        "/api/v1/config?id=1/**/UnIoN/**/ALL/**/SeLeCt/**/1,2",
        "sql_injection",
    ),
    (FIREFOX, "/api/v1/config?q=' OR '1'='1", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=admin' or 1=1--", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=x') OR ('a'='a", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=' or true--", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=1; DROP TABLE users", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=1' AND SLEEP(5)--", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=1;SELECT pg_sleep(10)", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=1 waitfor delay '0:0:5'", "sql_injection"),
    (
        FIREFOX,
        "/api/v1/config?q=1 and 1=0 union all select table_name from information_schema.tables",
        "sql_injection",
    ),
    (FIREFOX, "/api/v1/config?q=%2527%2520OR%25201%253D1", "sql_injection"),
    (FIREFOX, "/api/v1/config?q=<script>alert(1)</script>", "xss"),
    (
        FIREFOX,
        "/api/v1/config?q=%253Cscript%253Ealert(1)%253C%252Fscript%253E",
        "xss",
    ),
    (FIREFOX, "/api/v1/config?next=javascript:alert(document.cookie)", "xss"),
    (FIREFOX, "/api/v1/config?q=<img src=x onerror=alert(1)>", "xss"),
    (FIREFOX, "/api/v1/config?q=<svg/onload=alert(1)>", "xss"),
    (FIREFOX, "/api/v1/config?q=<iframe src=//evil.example>", "xss"),
    (FIREFOX, "/api/v1/config?file=../../../../etc/passwd", "path_traversal"),
];

async fn guarded_app(overrides: &[(&str, &str)]) -> TestApp {
    let mut all = vec![("TRUSTED_PROXIES", "127.0.0.1/32")];
    all.extend_from_slice(overrides);
    TestApp::spawn_with(&all).await
}

async fn send(app: &TestApp, ip: &str, user_agent: &str, path: &str) -> Response {
    app.request(Method::GET, path)
        .header("x-forwarded-for", ip)
        .header("user-agent", user_agent)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn attacks_are_blocked_with_a_reason() {
    let app = guarded_app(&[]).await;
    let before = metric(&app, "security_threat_blocks_total", &[]).await;
    for (i, (ua, path, reason)) in ATTACKS.iter().enumerate() {
        let reason_before = metric(&app, "security_threat_blocks_total", &[("reason", reason)]).await;
        let res = send(&app, &format!("198.51.100.{}", i + 1), ua, path).await;
        assert_eq!(res.status(), 403, "{path} with {ua}");
        // The 403 still went through the outer layers.
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert_problem(res, 403, "blocked").await;
        let reason_after = metric(&app, "security_threat_blocks_total", &[("reason", reason)]).await;
        assert!(reason_after > reason_before, "{path}: reason {reason}");
    }
    let after = metric(&app, "security_threat_blocks_total", &[]).await;
    assert!(after - before >= ATTACKS.len() as f64);
}

#[tokio::test]
async fn an_ip_with_three_blocked_requests_is_blocked_for_an_hour() {
    let app = guarded_app(&[]).await;
    let attacker = "203.0.113.50";
    assert_eq!(send(&app, attacker, FIREFOX, "/api/v1/config").await.status(), 200);
    for path in ["/.env", "/wp-login.php", "/api/v1/config?q=' or 1=1--"] {
        assert_eq!(send(&app, attacker, FIREFOX, path).await.status(), 403);
    }
    let before = metric(&app, "security_threat_blocks_total", &[("reason", "ip_blocked")]).await;
    for path in ["/api/v1/config", "/health", "/", "/api/v1/openapi.json"] {
        let res = send(&app, attacker, FIREFOX, path).await;
        assert_problem(res, 403, "blocked").await;
    }
    let after = metric(&app, "security_threat_blocks_total", &[("reason", "ip_blocked")]).await;
    assert!(after - before >= 4.0, "{before} → {after}");
    // Everyone else is served.
    assert_eq!(
        send(&app, "203.0.113.51", FIREFOX, "/api/v1/config").await.status(),
        200
    );
    // Two strikes are not enough.
    let careless = "203.0.113.52";
    for path in ["/.env", "/.git/HEAD"] {
        assert_eq!(send(&app, careless, FIREFOX, path).await.status(), 403);
    }
    assert_eq!(send(&app, careless, FIREFOX, "/api/v1/config").await.status(), 200);
}

#[tokio::test]
async fn threat_detection_can_be_turned_off() {
    let app = guarded_app(&[("THREAT_DETECTION", "false")]).await;
    for (ua, path, _) in ATTACKS.iter().take(8) {
        let res = send(&app, "198.51.100.200", ua, path).await;
        assert_ne!(res.status(), 403, "{path}");
    }
    let res = send(&app, "198.51.100.200", FIREFOX, "/api/v1/config?q=' OR '1'='1").await;
    assert_eq!(res.status(), 200);
}

/// Query text a real user could type into a search box.
const LEGIT_QUERIES: &[&str] = &[
    "O'Reilly",
    "it's a \"quoted\" word",
    "semi; colons; everywhere;",
    "select the best plan",
    "SELECT name FROM users WHERE id = 1",
    "drop me a line",
    "DROP the bass; then dance",
    "delete from my list",
    "insert coin; press start",
    "1=1 is always true in maths",
    "true or false",
    "Tom's and Jerry's",
    "don't stop; believin'",
    "'quoted' or 'not'",
    "she said 'or else'",
    "a < b > c",
    "<b>bold</b> and <i>italic</i>",
    "x <= y && y >= z",
    "<3 love it",
    "emoji 🎉🚀 ✓",
    "naïve café 日本語 عربى",
    "100% sure",
    "learn javascript: the good parts",
    "how much sleep (hours) do I need",
    "sleep(ing) bag",
    "the union's selection",
    "union of states",
    "order by date desc",
    "information about schemas",
    "exec summary; Q3",
    "email@example.com",
    "path/to/file.txt and ../docs",
    "#hashtag @mention",
    "a+b=c",
    "curly {braces} [brackets]",
    "back\\slash",
    "the script was great",
    "=SUM(A1:A3)",
    "multi\nline\ttext",
    "-- dashes -- and /* stars */",
];

const LEGIT_NAMES: &[&str] = &[
    "<b>Bold</b> Name",
    "O'Brien; Jr.",
    "Robert'); DROP TABLE Students;--",
    "José 🎉",
    "SELECT Smith",
    "Ann \"The Union\" Select",
    "<script>alert(1)</script>",
    "a < b & c > d",
    "1' OR '1'='1",
    "Zoë Ünal-Łukasz",
];

const LEGIT_AGENTS: &[&str] = &[
    FIREFOX,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "python-requests/2.31.0",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "PostmanRuntime/7.39.0",
];

const LEGIT_PATHS: &[&str] = &[
    "/",
    "/login",
    "/projects/0191b2f0-0000-7000-8000-000000000000",
    "/.well-known/security.txt",
    "/docs/",
    "/assets/index-abc123.js",
    "/favicon.ico",
    "/api/v1/openapi.json",
];

fn not_blocked(res: &Response, what: &str) {
    assert_ne!(res.status(), 403, "legitimate request blocked: {what}");
}

#[tokio::test]
async fn legitimate_requests_are_never_blocked() {
    let app = TestApp::spawn().await;
    let user = app.register_user().await;
    let mut count = 0;

    for q in LEGIT_QUERIES {
        let res = app
            .request(Method::GET, "/api/v1/config")
            .query(&[("q", *q), ("page", "1")])
            .send()
            .await
            .unwrap();
        not_blocked(&res, q);
        assert_eq!(res.status(), 200, "{q}");
        count += 1;
    }
    // The same texts in the query of a signed-in API call.
    for q in LEGIT_QUERIES.iter().take(10) {
        let res = app
            .authed(Method::GET, "/api/v1/auth/sessions", &user)
            .query(&[("q", *q)])
            .send()
            .await
            .unwrap();
        not_blocked(&res, q);
        count += 1;
    }
    // Bodies are never inspected: markup and SQL-looking names are data.
    for (i, name) in LEGIT_NAMES.iter().enumerate() {
        let res = app
            .post_json(
                "/api/v1/auth/register",
                &json!({"email": format!("legit-{i}@example.com"), "password": "correct horse battery staple", "full_name": name}),
            )
            .await;
        not_blocked(&res, name);
        assert_eq!(res.status(), 201, "{name}");
        let res = app
            .authed(Method::PATCH, "/api/v1/users/me", &user)
            .json(&json!({"full_name": name}))
            .send()
            .await
            .unwrap();
        not_blocked(&res, name);
        assert_eq!(res.status(), 200, "{name}");
        count += 2;
    }
    for ua in LEGIT_AGENTS {
        let res = app
            .request(Method::GET, "/api/v1/config")
            .header("user-agent", *ua)
            .send()
            .await
            .unwrap();
        not_blocked(&res, ua);
        count += 1;
    }
    for path in LEGIT_PATHS {
        let res = app
            .request(Method::GET, path)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        not_blocked(&res, path);
        count += 1;
    }
    assert!(count >= 50, "{count} legitimate requests");
    // Nothing above counted as a strike: this address is still welcome.
    assert_eq!(app.get("/api/v1/config").await.status(), 200);
}

/// Strikes count per IPv6 /64 (spec §6): an attacker cannot shed a block by hopping addresses in its /64,
/// while the next /64 is someone else.
#[tokio::test]
async fn ipv6_strikes_and_blocks_count_per_64() {
    let app = guarded_app(&[]).await;
    for (ip, path) in [
        ("2001:db8:aa:1::1", "/.env"),
        ("2001:db8:aa:1::2", "/wp-login.php"),
        ("2001:db8:aa:1:ffff:ffff:ffff:fffe", "/.git/HEAD"),
    ] {
        assert_eq!(send(&app, ip, FIREFOX, path).await.status(), 403, "{ip}");
    }
    let res = send(&app, "2001:db8:aa:1:1234::99", FIREFOX, "/api/v1/config").await;
    assert_problem(res, 403, "blocked").await;
    assert_eq!(
        send(&app, "2001:db8:aa:2::1", FIREFOX, "/api/v1/config").await.status(),
        200,
        "another /64 is another client"
    );
}
