//! Wrapping the data-encryption key with the data key (AES-256-GCM, crate `aes-gcm`).
//!
//! The data key never encrypts data directly, so rotating it only re-wraps 32 bytes.

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::{DataKey, Secret32};

/// The per-export data-encryption key.
#[derive(Clone, Debug)]
pub struct Dek(Secret32);

impl Dek {
    pub fn generate() -> Self {
        Dek(Secret32::generate())
    }

    pub fn from_bytes(b: [u8; 32]) -> Self {
        Dek(Secret32::from_bytes(b))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// For DataFusion's `footer_key_as_hex`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.as_bytes())
    }

    /// For DuckDB's `PRAGMA add_parquet_key`, which takes a 32-byte key only in base64.
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.as_bytes())
    }

    /// The key from which the manifest HMAC is computed, separate from the file key.
    pub(crate) fn manifest_mac_key(&self) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut m = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(self.as_bytes())
            .expect("any key length");
        m.update(b"clm/manifest-hmac");
        m.finalize().into_bytes().into()
    }

    /// Wraps with K_d; the export id is authenticated with it so a DEK cannot be moved
    /// into another bundle's manifest.
    pub fn wrap(&self, kd: &DataKey, export_id: &str) -> WrappedDek {
        let cipher = Aes256Gcm::new_from_slice(kd.as_bytes()).expect("32-byte key");
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the operating system's random source failed");
        let ct = cipher
            .encrypt(
                &Nonce::from(nonce),
                aes_gcm::aead::Payload {
                    msg: self.as_bytes(),
                    aad: aad(export_id).as_bytes(),
                },
            )
            .expect("encrypting 32 bytes cannot fail");
        WrappedDek {
            algorithm: "AES-256-GCM".into(),
            data_key_fingerprint: kd.fingerprint(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ct),
        }
    }
}

fn aad(export_id: &str) -> String {
    format!("clm/dek/v1/{export_id}")
}

/// The DEK as stored in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedDek {
    pub algorithm: String,
    /// Fingerprint of the data key that wraps it, to name the right key in an error.
    pub data_key_fingerprint: String,
    pub nonce: String,
    /// Ciphertext and GCM tag, hex.
    pub ciphertext: String,
}

impl WrappedDek {
    pub fn unwrap_with(&self, kd: &DataKey, export_id: &str) -> Result<Dek, String> {
        if self.algorithm != "AES-256-GCM" {
            return Err(format!("unknown DEK wrapping {}", self.algorithm));
        }
        if self.data_key_fingerprint != kd.fingerprint() {
            return Err(format!(
                "wrong data key: this bundle needs the data key with fingerprint {}, the key given has fingerprint {}",
                self.data_key_fingerprint,
                kd.fingerprint()
            ));
        }
        let nonce: [u8; 12] = hex::decode(&self.nonce)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or("malformed DEK nonce in the manifest")?;
        let ct =
            hex::decode(&self.ciphertext).map_err(|_| "malformed wrapped DEK in the manifest")?;
        let cipher = Aes256Gcm::new_from_slice(kd.as_bytes()).expect("32-byte key");
        let pt = cipher
            .decrypt(
                &Nonce::from(nonce),
                aes_gcm::aead::Payload {
                    msg: &ct,
                    aad: aad(export_id).as_bytes(),
                },
            )
            .map_err(|_| {
                "the DEK does not unwrap with this data key: wrong key, or the manifest was altered"
            })?;
        let b: [u8; 32] = pt.try_into().map_err(|_| "unwrapped DEK is not 32 bytes")?;
        Ok(Dek::from_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_wrong_key() {
        let kd = DataKey::generate();
        let dek = Dek::generate();
        let w = dek.wrap(&kd, "e1");
        assert_eq!(w.unwrap_with(&kd, "e1").unwrap().as_bytes(), dek.as_bytes());
        let other = DataKey::generate();
        let e = w.unwrap_with(&other, "e1").unwrap_err();
        assert!(e.contains("wrong data key"), "{e}");
        assert!(w.unwrap_with(&kd, "e2").is_err());
        let mut t = w.clone();
        t.ciphertext.replace_range(
            0..2,
            if &t.ciphertext[0..2] == "00" {
                "01"
            } else {
                "00"
            },
        );
        assert!(t.unwrap_with(&kd, "e1").is_err());
        assert_eq!(dek.to_base64().len(), 44);
    }
}
