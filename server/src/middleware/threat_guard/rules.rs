//! What the threat guard blocks: scanner user agents, probe paths outside `/api`, and unmistakable
//! SQL-injection / XSS / traversal patterns in the query string. Request bodies are never inspected.
//!
//! Every rule is written so ordinary text passes: quotes, semicolons, angle brackets and SQL words
//! alone are fine; only shapes that exist to attack (a quote followed by a tautology, `union select`,
//! a `<script` tag, `sleep(5)`) are blocked. The corpus in `tests/api/threats.rs` proves both sides.

use std::{borrow::Cow, sync::LazyLock};

use regex::Regex;

/// Why a request was blocked: the `reason` label of `security_threat_blocks_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    ScannerUserAgent,
    ProbePath,
    PathTraversal,
    SqlInjection,
    Xss,
    IpBlocked,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::ScannerUserAgent => "scanner_user_agent",
            Reason::ProbePath => "probe_path",
            Reason::PathTraversal => "path_traversal",
            Reason::SqlInjection => "sql_injection",
            Reason::Xss => "xss",
            Reason::IpBlocked => "ip_blocked",
        }
    }
}

/// Product tokens of attack tools' user agents (lowercase, matched as whole words, so `unmapped` is not
/// `nmap`). Not generic clients (curl, python-requests).
const SCANNERS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "wpscan",
    "dirbuster",
    "gobuster",
    "feroxbuster",
    "acunetix",
    "nessus",
    "openvas",
    "w3af",
    "havij",
    "netsparker",
    "arachni",
    "skipfish",
    "jorgee",
    "zmeu",
    "fimap",
    "commix",
    "xsstrike",
    "morfeus",
    "dirb",
    "ffuf",
];

/// Multi-word user-agent markers of attack tools.
const SCANNER_PHRASES: &[&str] = &["fuzz faster u fool"];

/// Path prefixes only scanners ask for (lowercase, outside `/api`).
const PROBE_PREFIXES: &[&str] = &[
    "/wp-admin",
    "/wp-login",
    "/wp-content",
    "/wp-includes",
    "/wp-json",
    "/wordpress",
    "/xmlrpc",
    "/phpmyadmin",
    "/phpmyadmin2",
    "/pma/",
    "/myadmin",
    "/mysqladmin",
    "/cgi-bin",
    "/server-status",
    "/server-info",
    "/boaform",
    "/hnap1",
    "/vendor/phpunit",
    "/owa/",
    "/autodiscover/",
];

/// Path segments that name secrets or repositories (lowercase; a prefix match, so `.env.local` too).
const PROBE_SEGMENTS: &[&str] = &[
    ".env",
    ".git",
    ".svn",
    ".hg",
    ".bzr",
    ".ds_store",
    ".htaccess",
    ".htpasswd",
    ".aws",
    ".ssh",
    ".bash_history",
    ".npmrc",
    ".dockerenv",
    ".idea",
    ".vscode",
    "web.config",
    "wp-config",
];

/// File extensions of server-side scripts this server never has.
const PROBE_EXTENSIONS: &[&str] = &[
    ".php", ".php3", ".php4", ".php5", ".php7", ".phtml", ".asp", ".aspx", ".jsp", ".jspx", ".cgi", ".cfm",
];

static SQLI: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // UNION-based extraction.
        r"\bunion(\s+(all|distinct))?\s+select\b",
        // Stacked destructive statements.
        r";\s*(drop|truncate|alter)\s+(table|database|schema)\b",
        r";\s*shutdown\s*(--|#|;|$)",
        // Time-based blind injection.
        r"\b(sleep|pg_sleep|benchmark)\s*\(\s*\d",
        r"\bwaitfor\s+delay\s+'",
        r"\bdbms_pipe\s*\.\s*receive_message\b",
        // Schema and file access.
        r"\binformation_schema\b",
        r"@@version\b",
        r"\bload_file\s*\(",
        r"\binto\s+(out|dump)file\b",
        r"\b(extractvalue|updatexml)\s*\(",
        r"\bxp_cmdshell\b",
        r"\bexec\s+master\.",
        // A closing quote followed by an always-true condition.
        r#"['"`]\s*\)*\s*(or|and)\s+(true|not\s+false)\b"#,
        r#"['"`]\s*\)*\s*(or|and)\s+['"]?\d+['"]?\s*(<|>)\s*['"]?\d+['"]?\s*(--|#|;|$)"#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("valid pattern"))
    .collect()
});

/// A closing quote, `or`/`and`, then `x = y`; blocked when both sides are the same token (`1=1`, `'a'='a`).
static TAUTOLOGY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"['"`]\s*\)*\s*(?:or|and)\s+\(*\s*['"`]?([\w.]+)['"`]?\s*(?:=|like)\s*\(*\s*['"`]?([\w.]+)"#)
        .expect("valid pattern")
});

static XSS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Browsers parse a tag only when its name follows `<` directly, so `a < script` is text.
        r"</?script\b",
        r"<(iframe|frame|frameset|object|embed|applet|meta|base)\b",
        r"<[a-z][a-z0-9]*\b[^>]*[\s/]on(error|load|click|dblclick|mouse[a-z]*|focus[a-z]*|blur|key[a-z]+|submit|change|input|toggle|begin|end|animation[a-z]+|transition[a-z]+|pointer[a-z]+|touch[a-z]+|drag[a-z]*|drop|copy|paste|cut|scroll|wheel|resize|unload|beforeunload|pageshow|hashchange|message|play|pause|start|finish|show|search|select|invalid|reset|abort|auxclick|contextmenu)\s*=",
        // A script URL: `javascript:` glued to code, or followed by a call.
        r"\b(javascript|vbscript|livescript):[^\s]",
        r"\b(javascript|vbscript|livescript)\s*:\s*[\w$.]+\s*\(",
        r"\bdata\s*:\s*text/html\b",
        r"\bdocument\s*\.\s*cookie\b",
        r"\bsrcdoc\s*=",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("valid pattern"))
    .collect()
});

static TRAVERSAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\.\.[/\\]){2,}|/etc/(passwd|shadow)\b|\bc:\\windows\\|\bproc/self/environ\b").expect("valid pattern")
});

static SQL_COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"/\*.*?\*/").expect("valid pattern"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("valid pattern"));

/// A scanner's user agent?
pub fn scanner(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    ua.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| SCANNERS.contains(&word))
        || SCANNER_PHRASES.iter().any(|p| ua.contains(p))
}

/// A path that only a vulnerability scanner asks for. Paths under `/api` are the API's own business
/// (an unknown one is a 404), except `..` segments, which are blocked everywhere.
pub fn probe_path(raw_path: &str) -> Option<Reason> {
    let path = decode(raw_path, false).to_lowercase();
    let path = path.replace('\\', "/");
    if path.split('/').any(|s| s == "..") {
        return Some(Reason::PathTraversal);
    }
    if path == "/api" || path.starts_with("/api/") {
        return None;
    }
    let probe = PROBE_PREFIXES.iter().any(|p| path.starts_with(p))
        || path
            .split('/')
            .any(|seg| PROBE_SEGMENTS.iter().any(|p| seg.starts_with(p)))
        || PROBE_EXTENSIONS.iter().any(|e| {
            path.split('/')
                .any(|seg| seg.ends_with(e) || seg.contains(&format!("{e};")))
        });
    probe.then_some(Reason::ProbePath)
}

/// An attack pattern in the query string (decoded, twice if double-encoded; comments and runs of
/// whitespace collapsed, so `UNION/**/SELECT` and `union%0Aselect` are caught too).
pub fn query(raw_query: &str) -> Option<Reason> {
    if raw_query.is_empty() {
        return None;
    }
    let mut text = decode(raw_query, true).into_owned();
    if text.contains('%') {
        text = decode(&text, false).into_owned();
    }
    let text = text.to_lowercase();
    let text = SQL_COMMENT.replace_all(&text, " ");
    let text = SPACES.replace_all(&text, " ");
    if TRAVERSAL.is_match(&text) {
        return Some(Reason::PathTraversal);
    }
    if XSS.iter().any(|r| r.is_match(&text)) {
        return Some(Reason::Xss);
    }
    if SQLI.iter().any(|r| r.is_match(&text)) || tautology(&text) {
        return Some(Reason::SqlInjection);
    }
    None
}

fn tautology(text: &str) -> bool {
    TAUTOLOGY
        .captures_iter(text)
        .any(|c| c.get(1).map(|m| m.as_str()) == c.get(2).map(|m| m.as_str()))
}

/// Percent-decoding (and `+` as space in query strings); invalid UTF-8 is replaced, never an error.
fn decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let s: Cow<'_, str> = if plus_is_space && s.contains('+') {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    match percent_encoding::percent_decode_str(&s).decode_utf8_lossy() {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => Cow::Owned(o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanners() {
        assert!(scanner("sqlmap/1.7.2#stable (https://sqlmap.org)"));
        assert!(scanner("Mozilla/5.00 (Nikto/2.1.6)"));
        assert!(scanner("Mozilla/5.0 (compatible; Nmap Scripting Engine)"));
        assert!(!scanner(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
        ));
        assert!(scanner("DirBuster-1.0-RC1 (http://www.owasp.org)"));
        assert!(scanner("Fuzz Faster U Fool v2.1.0"));
        assert!(!scanner("curl/8.5.0"));
        assert!(!scanner("UnmappedClient/1.0 (sqlmapper-free)"));
        assert!(!scanner("python-requests/2.31"));
    }

    #[test]
    fn probe_paths() {
        for p in [
            "/wp-admin/",
            "/wp-login.php",
            "/.env",
            "/.env.production",
            "/app/.git/config",
            "/index.php",
            "/x/shell.PHP",
            "/phpmyadmin/",
            "/cgi-bin/luci",
            "/%2eenv",
        ] {
            assert_eq!(probe_path(p), Some(Reason::ProbePath), "{p}");
        }
        assert_eq!(probe_path("/assets/../../etc/passwd"), Some(Reason::PathTraversal));
        for p in [
            "/",
            "/login",
            "/assets/index-abc123.js",
            "/.well-known/security.txt",
            "/docs/",
            "/api/v1/wp-admin",
            "/projects/phpish",
        ] {
            assert_eq!(probe_path(p), None, "{p}");
        }
    }

    #[test]
    fn queries() {
        for (q, r) in [
            ("id=1%20UNION%20SELECT%20password%20FROM%20users", Reason::SqlInjection),
            ("id=1/**/union/**/all/**/select/**/1", Reason::SqlInjection),
            ("q=x'%20or%201=1--", Reason::SqlInjection),
            ("q=%27+OR+%27a%27%3D%27a", Reason::SqlInjection),
            ("q=1;DROP TABLE users", Reason::SqlInjection),
            ("q=1' AND sleep(5)", Reason::SqlInjection),
            ("q=%253Cscript%253Ealert(1)", Reason::Xss),
            ("next=javascript:alert(1)", Reason::Xss),
            ("q=<img src=x onerror=alert(1)>", Reason::Xss),
            ("file=../../../etc/passwd", Reason::PathTraversal),
        ] {
            assert_eq!(query(q), Some(r), "{q}");
        }
        for q in [
            "q=O'Reilly",
            "q=rock 'n' roll; jazz",
            "q=select the best plan",
            "q=union of states",
            "q=a<b and c>d",
            "q=<b>bold</b>",
            "q=it's 1=1 in math",
            "q=\"quoted\" and x=y",
            "q=learn javascript: the good parts",
            "q=how much sleep (hours)",
            "q=100%",
            "q=%E2%9C%93%20done",
            "q=%ZZ",
        ] {
            assert_eq!(query(q), None, "{q}");
        }
    }
}
