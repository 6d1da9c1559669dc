//! Secrets sitechat must use again, such as a bot's model API key: sealed with
//! ChaCha20-Poly1305 under a key kept in the data directory (`secret.key`, mode 0600, made at
//! first start), so that the database alone does not reveal them. Keys that only need checking
//! (API keys, channel tokens) are hashed instead.

use std::path::Path;

use anyhow::Context;
use base64::Engine;
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    ChaCha20Poly1305, Key, Nonce,
};

const PREFIX: &str = "v1:";

pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// The key of [`Sealer::sign`], derived from the secret key.
    signing: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// Reads the data directory's secret key, making one the first time.
    pub fn open_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("secret.key");
        let key = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() == 32 => bytes,
            Ok(_) => anyhow::bail!("{} is not a 32-byte key", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = ChaCha20Poly1305::generate_key(&mut OsRng).to_vec();
                write_private(&path, &key)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                key
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Self::from_key(&key))
    }

    fn from_key(key: &[u8]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
            signing: hmac_sha256(key, b"sitechat signing key v1"),
        }
    }

    /// An HMAC-SHA256 of `data` under a key derived from the secret key: what makes a token the
    /// server issued (a widget visitor's) its own, without storing it.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.signing, data)
    }

    /// Whether `mac` is [`Sealer::sign`] of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], mac: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.sign(data).as_slice().ct_eq(mac))
    }

    /// Whether a stored value is sealed (rather than a secret written in clear before).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// Seals a secret: `v1:` and the base64 of a random nonce and the ciphertext.
    pub fn seal(&self, secret: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, secret.as_bytes())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// Opens a sealed secret; fails when it was sealed under another key or altered.
    pub fn unseal(&self, sealed: &str) -> Result<String, String> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or("not a sealed secret")?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .map_err(|_| "not a sealed secret")?;
        if bytes.len() < 12 {
            return Err("not a sealed secret".to_owned());
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| "the secret was sealed under another key, or altered")?;
        String::from_utf8(plain).map_err(|_| "the sealed secret is not text".to_owned())
    }
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::open_or_create(dir.path()).unwrap();
        let sealed = sealer.seal("sk-live-123");
        assert!(!sealed.contains("sk-live-123"));
        assert_ne!(
            sealed,
            sealer.seal("sk-live-123"),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.unseal(&sealed).unwrap(), "sk-live-123");
        let again = Sealer::open_or_create(dir.path()).unwrap();
        assert_eq!(
            again.unseal(&sealed).unwrap(),
            "sk-live-123",
            "the key is kept"
        );
        let other = Sealer::open_or_create(tempfile::tempdir().unwrap().path()).unwrap();
        assert!(other.unseal(&sealed).is_err());
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('A');
        assert!(sealer.unseal(&altered).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secret.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
