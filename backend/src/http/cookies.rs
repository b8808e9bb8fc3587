//! The session cookies, the device cookie and the second-step ticket: names, attributes,
//! setting and clearing.

use axum::http::{HeaderMap, HeaderValue, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use time::Duration;

use crate::auth::device::DEVICE_TTL_SECS;
use crate::auth::sessions::IssuedTokens;
use crate::crypto::{is_token_shaped, random_token};

use shared::names::cookies::prefix;
pub use shared::names::cookies::{ACCESS, CSRF, DEVICE, MFA_TICKET, REFRESH};
use shared::names::paths::MFA_PREFIX;

use crate::auth::mfa::TICKET_TTL_MS;

/// Cookie names and attributes for this deployment.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    secure: bool,
}

impl CookiePolicy {
    /// With `secure`, cookies are `Secure` and named with the `__Secure-` prefix.
    pub fn new(secure: bool) -> Self {
        Self { secure }
    }

    /// Whether cookies are `Secure` and named with the `__Secure-` prefix.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The on-the-wire name of a cookie.
    pub fn name(&self, base: &'static str) -> String {
        format!("{}{base}", prefix(self.secure))
    }

    /// The value of one of our cookies in the request's `Cookie` headers, by the rule of
    /// [`shared::cookies`]: names and values as sent (a name that spells `__Secure-` in
    /// escapes is not ours), the last of the name winning, a foreign byte skipping only its
    /// own pair. No jar is built of everything the browser sent, which matters for the
    /// access token, read on every authenticated request.
    pub fn find(&self, headers: &HeaderMap, base: &'static str) -> Option<String> {
        let lines = headers.get_all(header::COOKIE).into_iter();
        shared::cookies::last(lines.map(HeaderValue::as_bytes), prefix(self.secure), base)
            .map(str::to_owned)
    }

    /// Sets the access, refresh and CSRF cookies for freshly issued tokens. The CSRF token
    /// the request `sent` is kept (so a refresh does not break requests in flight).
    pub fn set_session(
        &self,
        jar: CookieJar,
        sent: &HeaderMap,
        issued: &IssuedTokens,
    ) -> CookieJar {
        let session_left = (issued.session.expires_at - issued.now_ms).div_euclid(1000);
        let csrf = self
            .find(sent, CSRF)
            .filter(|value| is_token_shaped(value))
            .unwrap_or_else(|| random_token(32));
        jar.add(self.build(
            ACCESS,
            issued.access_token.clone(),
            issued.access_expires_at - issued.now_ms.div_euclid(1000),
        ))
        .add(self.build(REFRESH, issued.refresh_token.clone(), session_left))
        .add(self.build(CSRF, csrf, session_left))
    }

    /// Sets the device cookie.
    pub fn set_device(&self, jar: CookieJar, value: String) -> CookieJar {
        jar.add(self.build(DEVICE, value, DEVICE_TTL_SECS))
    }

    /// Sets the ticket of a sign-in waiting for its second step.
    pub fn set_mfa_ticket(&self, jar: CookieJar, value: String) -> CookieJar {
        jar.add(self.build(MFA_TICKET, value, TICKET_TTL_MS / 1000))
    }

    /// Clears the ticket (its sign-in is complete).
    pub fn clear_mfa_ticket(&self, jar: CookieJar) -> CookieJar {
        jar.add(self.build(MFA_TICKET, String::new(), 0))
    }

    /// Clears the three session cookies (same name and Path, `Max-Age=0`). The device
    /// cookie stays: it names the browser, not the session.
    pub fn clear(&self, jar: CookieJar) -> CookieJar {
        [ACCESS, REFRESH, CSRF]
            .into_iter()
            .fold(jar, |jar, base| jar.add(self.build(base, String::new(), 0)))
    }

    fn build(&self, base: &'static str, value: String, max_age_secs: i64) -> Cookie<'static> {
        let path = match base {
            ACCESS => "/api",
            REFRESH | DEVICE => "/api/auth",
            MFA_TICKET => MFA_PREFIX,
            _ => "/",
        };
        Cookie::build((self.name(base), value))
            .path(path)
            .http_only(base != CSRF)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .max_age(Duration::seconds(max_age_secs.max(0)))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(header::COOKIE, HeaderValue::from_static(line));
        }
        headers
    }

    #[test]
    fn find_reads_the_named_cookie_from_every_cookie_header_the_last_winning() {
        let policy = CookiePolicy::new(false);
        let sent = headers(&[
            "csrf_token=c; access_token=first",
            "x=1;  access_token=last ;",
        ]);
        assert_eq!(policy.find(&sent, ACCESS).as_deref(), Some("last"));
        assert_eq!(policy.find(&sent, CSRF).as_deref(), Some("c"));
        assert_eq!(policy.find(&sent, REFRESH), None);
        assert_eq!(policy.find(&headers(&["access_token"]), ACCESS), None);
        assert_eq!(policy.find(&HeaderMap::new(), ACCESS), None);
    }

    #[test]
    fn find_takes_names_and_values_as_sent() {
        let policy = CookiePolicy::new(true);
        let sent = headers(&["access_token=plain; __Secure-access_token=prefixed"]);
        assert_eq!(policy.find(&sent, ACCESS).as_deref(), Some("prefixed"));
        assert_eq!(policy.find(&headers(&["access_token=plain"]), ACCESS), None);
        // Spelled in escapes, the prefix is not the prefix (a browser lets any page set
        // such a cookie).
        let planted = headers(&["__Secure-access_token=ours; %5F%5FSecure-access_token=x"]);
        assert_eq!(policy.find(&planted, ACCESS).as_deref(), Some("ours"));
        let escaped = headers(&["__Secure-access_token=%41"]);
        assert_eq!(policy.find(&escaped, ACCESS).as_deref(), Some("%41"));
        // A pair a browser sent in bytes that are not text hides nothing else.
        let mut foreign = HeaderMap::new();
        let line = b"__Secure-csrf_token=c; x=\xff; __Secure-access_token=ours";
        foreign.append(header::COOKIE, HeaderValue::from_bytes(line).unwrap());
        assert_eq!(policy.find(&foreign, ACCESS).as_deref(), Some("ours"));
        assert_eq!(policy.find(&foreign, CSRF).as_deref(), Some("c"));
    }
}
