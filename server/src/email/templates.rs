//! The messages NeoForge sends, each as text and HTML. Values are HTML-escaped in the HTML part.

use super::Email;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn html_page(title: &str, paragraphs: &[String], action: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p>{}</p>", escape(p)));
    }
    if let Some((label, url)) = action {
        body.push_str(&format!(
            "<p><a href=\"{url}\" style=\"display:inline-block;padding:10px 16px;background:#4338ca;color:#fff;\
             border-radius:6px;text-decoration:none\">{label}</a></p><p style=\"color:#555\">Or open: {url}</p>",
            url = escape(url),
            label = escape(label)
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;line-height:1.5;max-width:560px;margin:auto\">\
         <h1 style=\"font-size:20px\">{t}</h1>{body}<p style=\"color:#777;font-size:12px\">NeoForge</p></body></html>",
        t = escape(title)
    )
}

fn greeting(name: &str) -> String {
    if name.trim().is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {},", name.trim())
    }
}

pub fn verify_email(to: &str, name: &str, link: &str) -> Email {
    let lines = vec![
        greeting(name),
        "Please confirm your email address for NeoForge. The link is valid for 24 hours.".to_string(),
        "If you did not create an account, ignore this message.".to_string(),
    ];
    Email {
        to: to.into(),
        subject: "Confirm your email address".into(),
        text: format!("{}\n\n{}\n\n{link}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html_page("Confirm your email address", &lines, Some(("Confirm email", link))),
        links: vec![link.into()],
    }
}

pub fn password_reset(to: &str, name: &str, link: &str) -> Email {
    let lines = vec![
        greeting(name),
        "Someone asked to reset your NeoForge password. The link is valid for one hour and works once.".to_string(),
        "If it was not you, ignore this message: your password stays as it is.".to_string(),
    ];
    Email {
        to: to.into(),
        subject: "Reset your password".into(),
        text: format!("{}\n\n{}\n\n{link}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html_page("Reset your password", &lines, Some(("Choose a new password", link))),
        links: vec![link.into()],
    }
}

pub fn password_changed(to: &str, name: &str) -> Email {
    let lines = vec![
        greeting(name),
        "Your NeoForge password was just changed, and your other sessions were signed out.".to_string(),
        "If this was not you, reset your password at once and contact support.".to_string(),
    ];
    Email {
        to: to.into(),
        subject: "Your password was changed".into(),
        text: format!("{}\n\n{}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html_page("Your password was changed", &lines, None),
        links: vec![],
    }
}

/// The notice to the old address after an email change (the new one gets the verification link).
pub fn email_changed(to: &str, name: &str, new_email: &str) -> Email {
    let lines = vec![
        greeting(name),
        format!(
            "The email address of your NeoForge account was just changed to {}. This address will no longer receive messages about the account.",
            mask_email(new_email)
        ),
        "If this was not you, contact support at once: someone may have taken over your account.".to_string(),
    ];
    Email {
        to: to.into(),
        subject: "Your email address was changed".into(),
        text: format!("{}\n\n{}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html_page("Your email address was changed", &lines, None),
        links: vec![],
    }
}

/// `alice@example.com` → `a***@example.com`: enough to recognise, not enough to harvest.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => format!("{}***@{domain}", local.chars().next().unwrap_or('*')),
        None => "***".to_string(),
    }
}

pub fn new_device_login(to: &str, name: &str, device: &str, ip: &str) -> Email {
    let lines = vec![
        greeting(name),
        format!("Your NeoForge account was just signed in from a new device: {device} (IP address {ip})."),
        "If this was you, there is nothing to do. If not, change your password and revoke the session in Settings."
            .to_string(),
    ];
    Email {
        to: to.into(),
        subject: "New sign-in to your account".into(),
        text: format!("{}\n\n{}\n\n{}\n", lines[0], lines[1], lines[2]),
        html: html_page("New sign-in to your account", &lines, None),
        links: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_links_listed() {
        let e = verify_email("a@b.co", "<script>alert(1)</script>", "http://x/verify-email?token=abc");
        assert!(!e.html.contains("<script>"));
        assert!(e.html.contains("&lt;script&gt;"));
        assert!(e.text.contains("http://x/verify-email?token=abc"));
        assert_eq!(e.links, vec!["http://x/verify-email?token=abc"]);
        let n = new_device_login("a@b.co", "A", "Firefox on Linux", "203.0.113.9");
        assert!(n.text.contains("Firefox on Linux"));
        assert!(password_changed("a@b.co", "").text.starts_with("Hello,"));
        assert_eq!(password_reset("a@b.co", "A", "l").subject, "Reset your password");
    }
}
