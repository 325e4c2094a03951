//! Small cryptographic helpers: purpose-bound keys derived from `SECRET_KEY`, random tokens, hashes.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A 32-byte key for one purpose, derived from the secret with HMAC-SHA256, so that a key used for
/// one thing (JWTs) is useless for another (encrypting TOTP secrets).
pub fn derive_key(secret: &[u8], purpose: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"neoforge:");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 as lowercase hex: how tokens are stored (never the token itself).
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC-SHA256 of `data` under `key`, base64url.
pub fn sign(key: &[u8; 32], data: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("32-byte key");
    mac.update(data);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Constant-time check of an HMAC made by [`sign`].
pub fn verify(key: &[u8; 32], data: &[u8], signature: &str) -> bool {
    let Ok(raw) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("32-byte key");
    mac.update(data);
    mac.verify_slice(&raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bound_to_their_purpose() {
        assert_ne!(derive_key(b"s", "jwt"), derive_key(b"s", "totp"));
        assert_eq!(derive_key(b"s", "jwt"), derive_key(b"s", "jwt"));
    }

    #[test]
    fn tokens_and_signatures() {
        let t = random_token(32);
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token(32));
        assert_eq!(sha256_hex("abc").len(), 64);
        let key = derive_key(b"s", "cursor");
        let sig = sign(&key, b"data");
        assert!(verify(&key, b"data", &sig));
        assert!(!verify(&key, b"datb", &sig));
        assert!(!verify(&key, b"data", "garbage!"));
    }
}
