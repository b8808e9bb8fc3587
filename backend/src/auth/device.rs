//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies").
//!
//! A successful sign-in gives the browser a signed value naming the account it signed in
//! to and a random device id: `{device_id}.{user_id}.{expires_at}.{mac}`, the MAC being
//! HMAC-SHA256 under a key derived from the signing secret. A later attempt on the same
//! account that presents it is counted against that device alone, so an attacker keeping
//! the account's delay armed does not keep its owner out. Presented for another account,
//! forged, or expired, it counts for nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{derive_key, random_token, secure_eq};

/// How long a device cookie is honoured (and its `Max-Age`).
pub const DEVICE_TTL_SECS: i64 = 365 * 24 * 3600;
/// Longest cookie value looked at.
const MAX_LEN: usize = 256;

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

    /// A cookie value for `user_id`, keeping `device_id` when the browser had one.
    pub fn issue(&self, user_id: &str, device_id: Option<&str>, now_secs: i64) -> String {
        let device_id = device_id.map_or_else(|| random_token(16), str::to_owned);
        let payload = format!("{device_id}.{user_id}.{}", now_secs + DEVICE_TTL_SECS);
        let mac = self.mac(&payload);
        format!("{payload}.{mac}")
    }

    /// The device id of `value` if it is a genuine, unexpired cookie for `user_id`.
    pub fn device_for(&self, value: &str, user_id: &str, now_secs: i64) -> Option<String> {
        if value.len() > MAX_LEN {
            return None;
        }
        let (payload, mac) = value.rsplit_once('.')?;
        if !secure_eq(mac, &self.mac(payload)) {
            return None;
        }
        let mut parts = payload.splitn(3, '.');
        let (device_id, owner, expires_at) = (parts.next()?, parts.next()?, parts.next()?);
        let expires_at: i64 = expires_at.parse().ok()?;
        (owner == user_id && now_secs < expires_at && !device_id.is_empty())
            .then(|| device_id.to_owned())
    }

    fn mac(&self, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key size");
        mac.update(payload.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_names_one_account_and_expires() {
        let devices = DeviceCookies::new(b"a secret of at least thirty-two bytes!");
        let cookie = devices.issue("user-a", None, 1_000);
        let device = devices.device_for(&cookie, "user-a", 1_000).unwrap();
        assert_eq!(
            devices
                .issue("user-a", Some(&device), 2_000)
                .split('.')
                .next(),
            Some(device.as_str())
        );
        assert_eq!(devices.device_for(&cookie, "user-b", 1_000), None);
        assert_eq!(
            devices.device_for(&cookie, "user-a", 1_000 + DEVICE_TTL_SECS),
            None
        );
    }

    #[test]
    fn forged_or_foreign_cookies_count_for_nothing() {
        let devices = DeviceCookies::new(b"a secret of at least thirty-two bytes!");
        let other = DeviceCookies::new(b"another secret of thirty-two bytes or more");
        let cookie = other.issue("user-a", None, 1_000);
        assert_eq!(devices.device_for(&cookie, "user-a", 1_000), None);
        let genuine = devices.issue("user-a", None, 1_000);
        let retargeted = genuine.replacen("user-a", "user-b", 1);
        assert_eq!(devices.device_for(&retargeted, "user-b", 1_000), None);
        assert_eq!(devices.device_for("junk", "user-a", 1_000), None);
    }
}
