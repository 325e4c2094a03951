//! With `LOG_FORMAT=json` (production's default) every line the process writes is a JSON object, the
//! first-start administrator line included — and its generated password never reaches the log.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::support::{TestDb, binary, free_port, wait_ready};

#[tokio::test]
async fn json_logs_are_json_only_and_the_first_admin_password_goes_to_a_private_file() {
    let db = TestDb::new().await;
    let port = free_port();
    let data = db.dir.path().join("data");
    let child = binary()
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("DATA_DIR", &data)
        .env("PORT", port.to_string())
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "info")
        .env("EMAIL_BACKEND", "log")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn neoforge");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;

    let file = data.join(neoforge::auth::bootstrap::PASSWORD_FILE);
    let password = std::fs::read_to_string(&file).expect("the generated password is in DATA_DIR");
    let password = password.trim();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "readable by the service's user only");
    }
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@localhost", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the password in the file signs the administrator in");

    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let mut lines = 0;
    let mut first_start = None;
    for stream in [&out.stdout, &out.stderr] {
        for line in String::from_utf8_lossy(stream).lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
            assert!(value.is_object(), "{line}");
            assert!(!line.contains(password), "the password is never logged: {line}");
            if value["message"].as_str().is_some_and(|m| m.starts_with("first start")) {
                first_start = Some(value);
            }
        }
    }
    assert!(
        lines >= 3,
        "start-up, serving and shutdown lines were written ({lines})"
    );
    let first_start = first_start.expect("a first-start line");
    assert_eq!(first_start["admin_email"], "admin@localhost");
    assert_eq!(first_start["password_file"], file.display().to_string());
}

#[test]
fn a_setting_that_cannot_be_read_is_refused_in_one_json_line_when_logs_are_json() {
    for envs in [
        &[("LOG_FORMAT", "json"), ("PORT", "eighty")][..],
        &[("ENVIRONMENT", "production"), ("PORT", "eighty")][..],
    ] {
        let out = binary()
            .arg("check-config")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        let line: Value = serde_json::from_str(stderr.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stderr}"));
        assert_eq!(line["level"], "error");
        assert!(line["error"].as_str().unwrap().contains("PORT"), "{line}");
        assert!(out.stdout.is_empty());
    }
}
