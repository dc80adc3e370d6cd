//! Key files (SPEC §3.1).
//!
//! A key file is what a person can recognise and handle (in the spirit of age's identity
//! files): comment lines that say what the key is for, then 64 hex characters. Keys are
//! refused when group or world may read them, and the key bytes appear in no message: only
//! a fingerprint does, so that two parties can compare keys without showing them.

use std::fmt;
use std::io::Write;
use std::path::Path;
#[cfg(feature = "onsite")]
use std::path::PathBuf;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// Environment variable that may hold the pseudonymization key (hex), for automation.
pub const PSEUDONYM_KEY_ENV: &str = "CLM_PSEUDONYM_KEY";
/// Environment variable that may hold the data key (hex), for automation.
pub const DATA_KEY_ENV: &str = "CLM_DATA_KEY";

/// 32 secret bytes, wiped when dropped and never printed.
#[derive(Clone)]
pub struct Secret32([u8; 32]);

impl Secret32 {
    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("the operating system's random source failed");
        Secret32(b)
    }

    pub fn from_bytes(b: [u8; 32]) -> Self {
        Secret32(b)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// First 8 bytes of HMAC-SHA256(key, "clm/fingerprint"), hex: identifies a key without
    /// revealing it.
    pub fn fingerprint(&self) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        mac.update(b"clm/fingerprint");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }
}

impl Drop for Secret32 {
    fn drop(&mut self) {
        for b in self.0.iter_mut() {
            // SAFETY: a plain write to an owned byte; volatile keeps the compiler from
            // eliding the wipe of memory about to be freed.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl fmt::Debug for Secret32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret32(fingerprint {})", self.fingerprint())
    }
}

/// What a key is for; decides its file name, its comment and its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Pseudonym,
    Data,
}

impl KeyKind {
    pub fn env_var(self) -> &'static str {
        match self {
            KeyKind::Pseudonym => PSEUDONYM_KEY_ENV,
            KeyKind::Data => DATA_KEY_ENV,
        }
    }

    pub fn file_name(self) -> &'static str {
        match self {
            KeyKind::Pseudonym => "pseudonym.key",
            KeyKind::Data => "data.key",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            KeyKind::Pseudonym => "--pseudonym-key",
            KeyKind::Data => "--data-key",
        }
    }

    fn comment(self) -> &'static str {
        match self {
            KeyKind::Pseudonym => {
                "# clm pseudonymization key (K_p).\n\
                 # It turns client ids into pseudonyms and back into call lists.\n\
                 # Keep it on site: never send it to anyone, never put it in a bundle.\n\
                 # Losing it means new pseudonyms: exports made with another key do not join.\n"
            }
            KeyKind::Data => {
                "# clm data key (K_d).\n\
                 # It unlocks the encrypted bundles. Give it to the consultant out of band\n\
                 # (not in the same message as a bundle).\n"
            }
        }
    }
}

/// Reads a key file: refuses group/world-readable files and anything but 64 hex digits.
pub fn load_key_file(path: &Path) -> Result<Secret32> {
    let err = |msg: String| Error::Key {
        path: path.to_path_buf(),
        msg,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(err(format!(
                "readable by group or others (mode {mode:04o}); a key must be private: run `chmod 600 {}`",
                path.display()
            )));
        }
    }
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    parse_hex_key(&body).map_err(err)
}

/// Parses 64 hex characters. The error never repeats the input.
pub fn parse_hex_key(s: &str) -> std::result::Result<Secret32, String> {
    let s = s.trim();
    if s.len() != 64 {
        return Err(format!(
            "expected 64 hex characters (a 32-byte key), found {} characters",
            s.chars().count()
        ));
    }
    let mut b = [0u8; 32];
    hex::decode_to_slice(s, &mut b).map_err(|_| "not hexadecimal".to_string())?;
    Ok(Secret32(b))
}

/// Finds a key from a `--…-key FILE` option or, without one, from the environment.
///
/// A key pasted on the command line in place of the file name is refused: it would end up
/// in shell history and in every process listing.
pub fn resolve_key(kind: KeyKind, file: Option<&Path>) -> Result<Secret32> {
    if let Some(path) = file {
        if !path.exists() {
            let s = path.to_string_lossy();
            if s.len() >= 32 && s.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Error::KeyEnv(format!(
                    "{} takes the path of a key file, and this looks like a key itself. A key on the \
                     command line ends up in shell history and process lists: put it in a file \
                     (chmod 600) or in the {} environment variable",
                    kind.flag(),
                    kind.env_var()
                )));
            }
        }
        return load_key_file(path);
    }
    match std::env::var(kind.env_var()) {
        Ok(v) => parse_hex_key(&v).map_err(|m| Error::KeyEnv(format!("{}: {m}", kind.env_var()))),
        Err(std::env::VarError::NotPresent) => Err(Error::KeyEnv(format!(
            "no {} key: pass {} FILE or set {}",
            match kind {
                KeyKind::Pseudonym => "pseudonymization",
                KeyKind::Data => "data",
            },
            kind.flag(),
            kind.env_var()
        ))),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::KeyEnv(format!("{}: not valid text", kind.env_var())))
        }
    }
}

/// Writes a new key file with mode 0600; never overwrites an existing file.
pub fn write_key_file(path: &Path, kind: KeyKind, key: &Secret32) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Key {
                path: path.to_path_buf(),
                msg: "already exists; refusing to overwrite a key (move it away first if you really mean to replace it)".into(),
            }
        } else {
            Error::io(path, e)
        }
    })?;
    let text = format!(
        "{}# fingerprint: {}\n{}\n",
        kind.comment(),
        key.fingerprint(),
        hex::encode(key.as_bytes())
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// The data key K_d: wraps each export's data-encryption key.
#[derive(Clone, Debug)]
pub struct DataKey(pub Secret32);

impl DataKey {
    pub fn generate() -> Self {
        DataKey(Secret32::generate())
    }
    pub fn load(path: &Path) -> Result<Self> {
        load_key_file(path).map(DataKey)
    }
    /// `--data-key FILE` if given, else `CLM_DATA_KEY`.
    pub fn resolve(file: Option<&Path>) -> Result<Self> {
        resolve_key(KeyKind::Data, file).map(DataKey)
    }
    pub fn from_env() -> Result<Option<Self>> {
        match std::env::var(DATA_KEY_ENV) {
            Ok(_) => resolve_key(KeyKind::Data, None).map(|k| Some(DataKey(k))),
            Err(_) => Ok(None),
        }
    }
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint()
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

/// The pseudonymization key K_p: stays on site.
#[cfg(feature = "onsite")]
#[derive(Clone, Debug)]
pub struct PseudonymKey(pub Secret32);

#[cfg(feature = "onsite")]
impl PseudonymKey {
    pub fn generate() -> Self {
        PseudonymKey(Secret32::generate())
    }
    pub fn load(path: &Path) -> Result<Self> {
        load_key_file(path).map(PseudonymKey)
    }
    /// `--pseudonym-key FILE` if given, else `CLM_PSEUDONYM_KEY`.
    pub fn resolve(file: Option<&Path>) -> Result<Self> {
        resolve_key(KeyKind::Pseudonym, file).map(PseudonymKey)
    }
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint()
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

/// Makes `DIR/pseudonym.key` and `DIR/data.key`; refuses if either exists.
#[cfg(feature = "onsite")]
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let p = dir.join(KeyKind::Pseudonym.file_name());
    let d = dir.join(KeyKind::Data.file_name());
    for path in [&p, &d] {
        if path.exists() {
            return Err(Error::Key {
                path: path.clone(),
                msg: "already exists; refusing to overwrite a key".into(),
            });
        }
    }
    let (kp, kd) = distinct_pair(Secret32::generate);
    write_key_file(&p, KeyKind::Pseudonym, &kp)?;
    write_key_file(&d, KeyKind::Data, &kd)?;
    Ok((p, d))
}

/// Two keys from `generate`, drawn again until they differ: a pseudonymization key equal to
/// the data key would hand K_p to whoever holds K_d.
#[cfg(feature = "onsite")]
fn distinct_pair(mut generate: impl FnMut() -> Secret32) -> (Secret32, Secret32) {
    let kp = generate();
    loop {
        let kd = generate();
        if kd.as_bytes() != kp.as_bytes() {
            return (kp, kd);
        }
    }
}

/// Why one key may not be both the pseudonymization key and the data key, for the message
/// that refuses it (`what` names the command's options).
pub fn same_key_message(fingerprint: &str, what: &str) -> String {
    format!(
        "{what} are the same key (fingerprint {fingerprint}). The data key goes to the consultant; \
         if it were also the pseudonymization key, the consultant could recompute pseudonyms from \
         phone numbers and ids and so re-identify clients. Use two different keys: \
         `clm-pseudonymize keygen --out DIR` makes a pair"
    )
}

/// Refuses a pseudonymization key equal to the data key.
#[cfg(feature = "onsite")]
pub fn ensure_distinct(kp: &PseudonymKey, kd: &DataKey) -> Result<()> {
    if kp.as_bytes() == kd.as_bytes() {
        return Err(Error::KeyEnv(same_key_message(
            &kp.fingerprint(),
            "the pseudonymization key and the data key",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_hmac_prefix() {
        let k = Secret32::from_bytes([7u8; 32]);
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7u8; 32]).unwrap();
        mac.update(b"clm/fingerprint");
        let full = hex::encode(mac.finalize().into_bytes());
        assert_eq!(k.fingerprint(), &full[..16]);
    }

    #[test]
    fn key_file_round_trip_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (p, d) = keygen(dir.path()).unwrap();
        let kp = PseudonymKey::load(&p).unwrap();
        let kd = DataKey::load(&d).unwrap();
        assert_ne!(kp.as_bytes(), kd.as_bytes());
        // refuses to overwrite
        assert!(keygen(dir.path()).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = PseudonymKey::load(&p).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
    }

    #[test]
    fn keygen_never_makes_two_equal_keys() {
        // A generator that repeats itself twice before giving another key.
        let mut draws = [[1u8; 32], [1u8; 32], [1u8; 32], [2u8; 32]].into_iter();
        let (kp, kd) = distinct_pair(|| Secret32::from_bytes(draws.next().unwrap()));
        assert_eq!(kp.as_bytes(), &[1u8; 32]);
        assert_eq!(kd.as_bytes(), &[2u8; 32]);
        assert!(
            draws.next().is_none(),
            "drew until the keys differed, no further"
        );
    }

    #[test]
    fn the_same_key_for_both_roles_is_refused() {
        let k = Secret32::from_bytes([9u8; 32]);
        let e = ensure_distinct(&PseudonymKey(k.clone()), &DataKey(k.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("are the same key"), "{e}");
        assert!(e.contains(&k.fingerprint()), "{e}");
        assert!(!e.contains(&hex::encode([9u8; 32])), "{e}");
        assert!(
            ensure_distinct(&PseudonymKey(k), &DataKey(Secret32::from_bytes([8u8; 32]))).is_ok()
        );
    }

    #[test]
    fn wrong_length_and_non_hex_are_refused_without_echo() {
        let e = parse_hex_key("abcd").unwrap_err();
        assert!(e.contains("found 4 characters"));
        let bad = "zz".repeat(32);
        let e = parse_hex_key(&bad).unwrap_err();
        assert!(!e.contains("zz"));
    }

    #[test]
    fn key_on_command_line_is_refused() {
        let hexkey = "ab".repeat(32);
        let e = resolve_key(KeyKind::Data, Some(Path::new(&hexkey)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("looks like a key"), "{e}");
        assert!(!e.contains(&hexkey));
    }
}
