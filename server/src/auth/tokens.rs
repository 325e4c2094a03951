//! Access tokens (HS256 JWTs bound to a session) and refresh tokens (random, stored hashed).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::crypto;

pub const ISSUER: &str = "neoforge";
pub const AUDIENCE: &str = "neoforge-api";

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub typ: String,
    pub iss: String,
    pub aud: String,
}

/// Signing keys, derived from `SECRET_KEY` once at start-up.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
    /// Tokens whose signature was checked, with their expiry: the same bytes always verify the same
    /// way, so a client's token is decoded once, not on every request (it was ~5 % of a request's CPU).
    verified: Arc<Mutex<HashMap<String, (AccessClaims, i64)>>>,
}

/// At most this many verified tokens are remembered (a full memory is emptied).
const VERIFIED_CAPACITY: usize = 10_000;

/// A verified access token.
#[derive(Debug, Clone, Copy)]
pub struct AccessClaims {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Self {
        let key = crypto::derive_key(secret, "access-token");
        // Only HS256: `alg: none` and every other algorithm fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
            access_ttl,
            verified: Arc::default(),
        }
    }

    pub fn issue(&self, user_id: Uuid, session_id: Uuid, now: i64) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
            typ: "access".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Verifies signature, algorithm, expiry, issuer, audience and `typ`.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let now = chrono::Utc::now().timestamp();
        // The same expiry rule as the full check (`exp` may be up to `leeway` seconds in the past).
        let live = |exp: i64| exp >= now - self.validation.leeway as i64;
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((claims, exp)) = verified.get(token) {
            return live(*exp).then_some(*claims);
        }
        drop(verified);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        if data.claims.typ != "access" {
            return None;
        }
        let claims = AccessClaims {
            user_id: data.claims.sub.parse().ok()?,
            session_id: data.claims.sid.parse().ok()?,
        };
        verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= VERIFIED_CAPACITY {
            verified.clear();
        }
        verified.insert(token.to_string(), (claims, data.claims.exp));
        Some(claims)
    }
}

/// A new refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    crypto::random_token(32)
}

#[cfg(test)]
mod tests {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"unit-test-secret-unit-test-secret", Duration::from_secs(900))
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_tampered_one_is_checked_afresh() {
        let k = TokenKeys::new(b"unit-test-secret-unit-test-secret", Duration::from_secs(2));
        let (u, s) = (Uuid::now_v7(), Uuid::now_v7());
        let now = chrono::Utc::now().timestamp();
        // exp = now - 4: inside the 5 s leeway now, outside it two seconds later.
        let t = k.issue(u, s, now - 6);
        assert!(k.verify(&t).is_some());
        assert!(k.verify(&t).is_some(), "remembered");
        let mut tampered = t.clone();
        tampered.pop();
        tampered.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(
            k.verify(&tampered).is_none(),
            "another string is verified, not looked up"
        );
        std::thread::sleep(Duration::from_millis(2100));
        assert!(k.verify(&t).is_none(), "expired while remembered");
    }

    #[test]
    fn round_trip() {
        let (u, s) = (Uuid::now_v7(), Uuid::now_v7());
        let t = keys().issue(u, s, chrono::Utc::now().timestamp());
        let c = keys().verify(&t).unwrap();
        assert_eq!((c.user_id, c.session_id), (u, s));
    }

    #[test]
    fn rejects_expired_other_key_alg_none_and_wrong_typ() {
        let (u, s) = (Uuid::now_v7(), Uuid::now_v7());
        let now = chrono::Utc::now().timestamp();
        assert!(keys().verify(&keys().issue(u, s, now - 3600)).is_none(), "expired");
        let other = TokenKeys::new(b"another-secret-another-secret-xx", Duration::from_secs(900));
        assert!(keys().verify(&other.issue(u, s, now)).is_none(), "wrong key");

        let payload = |typ: &str| {
            URL_SAFE_NO_PAD.encode(
                serde_json::json!({"sub": u.to_string(), "sid": s.to_string(), "iat": now, "exp": now + 600,
                    "typ": typ, "iss": ISSUER, "aud": AUDIENCE})
                .to_string(),
            )
        };
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(
            keys()
                .verify(&format!("{none_header}.{}.", payload("access")))
                .is_none(),
            "alg none"
        );

        let refresh_typ = Claims {
            sub: u.to_string(),
            sid: s.to_string(),
            iat: now,
            exp: now + 600,
            typ: "refresh".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        };
        let key = crypto::derive_key(b"unit-test-secret-unit-test-secret", "access-token");
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &refresh_typ,
            &EncodingKey::from_secret(&key),
        )
        .unwrap();
        assert!(keys().verify(&t).is_none(), "wrong typ");
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &Claims {
                typ: "access".into(),
                ..refresh_typ
            },
            &EncodingKey::from_secret(&key),
        )
        .unwrap();
        assert!(keys().verify(&t).is_none(), "HS384");
        assert!(keys().verify("not.a.jwt").is_none());
    }
}
