//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step), secrets encrypted at rest, recovery codes.

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng},
};
use rand::Rng;
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const ISSUER: &str = "NeoForge";

/// Encrypts secrets at rest (TOTP secrets, job payloads) with a key derived from `SECRET_KEY`
/// (ChaCha20-Poly1305, random nonce).
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl SecretBox {
    pub fn new(secret_key: &[u8]) -> Self {
        Self::for_purpose(secret_key, "totp-secret-encryption")
    }

    /// A box whose key serves one purpose only (TOTP secrets, job payloads, ...).
    pub fn for_purpose(secret_key: &[u8], purpose: &str) -> Self {
        let key = crate::crypto::derive_key(secret_key, purpose);
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key)),
        }
    }

    pub fn seal(&self, plain: &[u8]) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(self.cipher.encrypt(&nonce, plain).expect("encryption cannot fail"));
        STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(sealed).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        self.cipher.decrypt(&Nonce::from(nonce), ciphertext).ok()
    }
}

fn totp(secret: &[u8], account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// A new random 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut bytes = [0u8; 20];
    rand::rng().fill(&mut bytes);
    bytes.to_vec()
}

/// The base32 secret and `otpauth://` URI for an authenticator app.
pub fn provisioning(secret: &[u8], account: &str) -> Option<(String, String)> {
    let t = totp(secret, account)?;
    Some((t.secret().to_base32(), t.to_url().ok()?))
}

/// The time step a code matches at `unix_time` (±1 step), if any.
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "x")?.check(code, unix_time).map(|step| step as i64)
}

/// The code for `unix_time` (tests and tools).
pub fn code_at(secret: &[u8], unix_time: u64) -> String {
    totp(secret, "x")
        .map(|t| t.generate(unix_time).to_string())
        .unwrap_or_default()
}

/// Ten recovery codes like `k7q2-m9xd`, from an alphabet without look-alikes.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| {
            let mut s: String = (0..8)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            s.insert(4, '-');
            s
        })
        .collect()
}

/// How a recovery code is compared: lowercase, without spaces or dashes.
pub fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 → 94287082 (8 digits; 6 → 287082).
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(matching_step(secret, "287082", 59 + 30), Some(1), "one step of skew");
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
    }

    #[test]
    fn secrets_are_sealed() {
        let b = SecretBox::new(b"k");
        let sealed = b.seal(b"top secret");
        assert!(!sealed.contains("top secret"));
        assert_eq!(b.open(&sealed).unwrap(), b"top secret");
        assert!(SecretBox::new(b"other").open(&sealed).is_none());
        assert!(b.open("garbage").is_none());
    }

    #[test]
    fn recovery_codes() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 9 && c.as_bytes()[4] == b'-'));
        assert_eq!(normalize_recovery_code(" AB12-cd34 "), "ab12cd34");
        let (secret, uri) = provisioning(&new_secret(), "a@b.co").unwrap();
        assert_eq!(secret.len(), 32);
        assert!(uri.starts_with("otpauth://totp/NeoForge:a%40b.co?"), "{uri}");
    }
}
