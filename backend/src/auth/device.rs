//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").
//!
//! A successful sign-in gives the browser a signed value naming the account it signed in
//! to and a random device id: `{device_id}.{user_id}.{expires_at}.{mac}`, the MAC being
//! HMAC-SHA256 under a key derived from the signing secret. A later attempt on the same
//! account that presents it is counted against that device alone, so an attacker keeping
//! the account's delay armed does not keep its owner out. Presented for another account,
//! forged, or expired, it counts for nothing. The MAC also covers the account's password
//! hash (not in the cookie), so a new password withdraws every device cookie issued
//! before it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::crypto::{derive_key, random_token, secure_eq};

/// How long a device cookie is honoured (and its `Max-Age`).
pub const DEVICE_TTL_SECS: i64 = 365 * 24 * 3600;
/// Longest cookie value looked at.
const MAX_LEN: usize = 256;

/// The account a device cookie is for.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// User id (in the cookie).
    pub id: &'a str,
    /// The current password hash (only in the MAC).
    pub password_hash: &'a str,
}

/// Makes and checks device cookies.
pub struct DeviceCookies {
    key: Vec<u8>,
}

impl DeviceCookies {
    /// The MAC key is derived from the signing secret under its own label.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: derive_key(secret, b"jwt-auth device cookie v1"),
        }
    }

    /// A cookie value for `account` (its id and password hash), keeping `device_id` when
    /// the browser had one.
    pub fn issue(&self, account: Account<'_>, device_id: Option<&str>, now_secs: i64) -> String {
        let device_id = device_id.map_or_else(|| random_token(16), str::to_owned);
        let payload = format!("{device_id}.{}.{}", account.id, now_secs + DEVICE_TTL_SECS);
        let mac = self.mac(&payload, account.password_hash);
        format!("{payload}.{mac}")
    }

    /// The device id of `value` if it is a genuine, unexpired cookie for `account` as it
    /// is now.
    pub fn device_for(&self, value: &str, account: Account<'_>, now_secs: i64) -> Option<String> {
        if value.len() > MAX_LEN {
            return None;
        }
        let (payload, mac) = value.rsplit_once('.')?;
        if !secure_eq(mac, &self.mac(payload, account.password_hash)) {
            return None;
        }
        let user_id = account.id;
        let mut parts = payload.splitn(3, '.');
        let (device_id, owner, expires_at) = (parts.next()?, parts.next()?, parts.next()?);
        let expires_at: i64 = expires_at.parse().ok()?;
        (owner == user_id && now_secs < expires_at && !device_id.is_empty())
            .then(|| device_id.to_owned())
    }

    fn mac(&self, payload: &str, password_hash: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key size");
        mac.update(payload.as_bytes());
        mac.update(b"\0");
        mac.update(password_hash.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret of at least thirty-two bytes!";
    const A: Account<'static> = Account {
        id: "user-a",
        password_hash: "hash-a",
    };
    const B: Account<'static> = Account {
        id: "user-b",
        password_hash: "hash-b",
    };

    #[test]
    fn a_cookie_names_one_account_and_expires() {
        let devices = DeviceCookies::new(SECRET);
        let cookie = devices.issue(A, None, 1_000);
        let device = devices.device_for(&cookie, A, 1_000).unwrap();
        let renewed = devices.issue(A, Some(&device), 2_000);
        assert_eq!(renewed.split('.').next(), Some(device.as_str()));
        assert_eq!(devices.device_for(&cookie, B, 1_000), None);
        assert_eq!(
            devices.device_for(&cookie, A, 1_000 + DEVICE_TTL_SECS),
            None
        );
    }

    #[test]
    fn a_new_password_withdraws_the_cookies() {
        let devices = DeviceCookies::new(SECRET);
        let cookie = devices.issue(A, None, 1_000);
        let changed = Account {
            password_hash: "new-hash",
            ..A
        };
        assert_eq!(devices.device_for(&cookie, changed, 1_000), None);
    }

    #[test]
    fn forged_or_foreign_cookies_count_for_nothing() {
        let devices = DeviceCookies::new(SECRET);
        let other = DeviceCookies::new(b"another secret of thirty-two bytes or more");
        let cookie = other.issue(A, None, 1_000);
        assert_eq!(devices.device_for(&cookie, A, 1_000), None);
        let genuine = devices.issue(A, None, 1_000);
        let retargeted = genuine.replacen("user-a", "user-b", 1);
        assert_eq!(devices.device_for(&retargeted, B, 1_000), None);
        assert_eq!(devices.device_for("junk", A, 1_000), None);
    }
}
