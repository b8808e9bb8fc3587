//! The refresh-token, device and other session cookies, from the `Cookie` headers on.
//!
//! Input lines are request header lines (`Cookie: refresh_token=…; device=…`). Each of
//! our cookies, under its plain and its `__Secure-` name, is read as the handlers read it:
//! the refresh token and the second-step ticket are checked for shape, then rotated and
//! hashed as the refresh flow does; the device cookie is checked for two accounts.
//!
//! Checked: nothing panics; every cookie read was sent under its very name (not one that
//! spells it, or the `__Secure-` prefix, in percent-escapes, which any page may set), and
//! on lines the `cookie` crate can read, it is the cookie that crate finds last; a
//! token-shaped refresh token's successor is token-shaped too;
//! the only device cookie ever accepted is the one genuine cookie the target knows of
//! (issued to account A at [`ISSUED_AT`]), for A and before it expires.

#![no_main]

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::Cookie;
use backend::auth::device::{Account, DEVICE_TTL_SECS, DeviceCookies};
use backend::auth::refresh_token::{self, RefreshTokens};
use backend::crypto::is_token_shaped;
use backend::http::cookies::{self, CookiePolicy};
use backend_fuzz::{NOW_MS, SERVER_SECRET, headers_from_lines};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

/// When the genuine device cookie was issued (Unix seconds).
const ISSUED_AT: i64 = NOW_MS / 1000 - 3600;
const A: Account<'static> = Account {
    id: "0b9a5c1e-1111-4a4a-8888-000000000001",
    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
};
const B: Account<'static> = Account {
    id: "0b9a5c1e-2222-4b4b-9999-000000000002",
    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0c2FsdA$b3RoZXJoYXNoaGFzaA",
};

struct Parsers {
    devices: DeviceCookies,
    refresh: RefreshTokens,
    genuine: String,
}

static PARSERS: LazyLock<Parsers> = LazyLock::new(|| {
    let devices = DeviceCookies::new(SERVER_SECRET.as_bytes());
    let genuine = devices.issue(A, Some("fuzz-device"), ISSUED_AT);
    Parsers {
        devices,
        refresh: RefreshTokens::new(SERVER_SECRET.as_bytes()),
        genuine,
    }
});

fuzz_target!(|data: &[u8]| {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let headers = headers_from_lines(&lines);
    let parsers = &*PARSERS;
    for policy in [CookiePolicy::new(false), CookiePolicy::new(true)] {
        for name in [
            cookies::ACCESS,
            cookies::REFRESH,
            cookies::MFA_TICKET,
            cookies::CSRF,
            cookies::DEVICE,
        ] {
            let wire = policy.name(name);
            let found = policy.find(&headers, name);
            if let Some(value) = &found {
                let blank = [' ', '\t'];
                let sent_as_such = headers
                    .get_all("cookie")
                    .iter()
                    .flat_map(|line| line.as_bytes().split(|b| *b == b';'))
                    .any(|pair| {
                        String::from_utf8_lossy(pair)
                            .split_once('=')
                            .is_some_and(|(key, sent)| {
                                key.trim_matches(blank) == wire
                                    && sent.trim_matches(blank) == *value
                            })
                    });
                assert!(
                    sent_as_such,
                    "{name} read from a name that only decodes to it"
                );
            }
            // Where the `cookie` crate can read every line (visible ASCII), it finds the
            // same last cookie of the name.
            let lines: Option<Vec<&str>> = headers
                .get_all("cookie")
                .iter()
                .map(|line| line.to_str().ok())
                .collect();
            if let Some(lines) = lines {
                let library = lines
                    .into_iter()
                    .flat_map(Cookie::split_parse)
                    .filter_map(Result::ok)
                    .filter(|cookie| cookie.name() == wire)
                    .last()
                    .map(|cookie| cookie.value().to_owned());
                assert_eq!(found, library, "{name}");
            }
            // A pair of the very name whose value is not ASCII changes nothing: on a line
            // before the others or after them, or on the first or last line itself
            // (browsers send one line, so a reader that lost the line would show here).
            let foreign = format!("{wire}=\u{e9}t\u{e9}");
            let line = |text: &str| HeaderValue::from_bytes(text.as_bytes()).expect("obs-text");
            let sent: Vec<&HeaderValue> = headers.get_all(COOKIE).iter().collect();
            let with = |first: &str, last: &str| {
                let mut map = HeaderMap::new();
                for (n, &value) in sent.iter().enumerate() {
                    let Ok(text) = value.to_str() else {
                        // Not text: kept as sent.
                        map.append(COOKIE, value.clone());
                        continue;
                    };
                    let mut text = text.to_owned();
                    if n == 0 {
                        text.insert_str(0, first);
                    }
                    if n + 1 == sent.len() {
                        text.push_str(last);
                    }
                    map.append(COOKIE, line(&text));
                }
                map
            };
            let mut before = HeaderMap::new();
            before.append(COOKIE, line(&foreign));
            for &value in &sent {
                before.append(COOKIE, value.clone());
            }
            let mut after = headers.clone();
            after.append(COOKIE, line(&foreign));
            let inline = with(&format!("{foreign}; "), &format!("; {foreign}"));
            for (case, map) in [("before", before), ("after", after), ("inline", inline)] {
                assert_eq!(policy.find(&map, name), found, "{name} {case}");
            }
        }
        for name in [cookies::REFRESH, cookies::MFA_TICKET, cookies::CSRF] {
            if let Some(token) = policy.find(&headers, name).filter(|t| is_token_shaped(t)) {
                let successor = parsers.refresh.successor(&token);
                assert!(is_token_shaped(&successor), "{successor}");
                assert_eq!(refresh_token::hash(&token).len(), 64);
            }
        }
        let Some(value) = policy.find(&headers, cookies::DEVICE) else {
            continue;
        };
        for (account, now) in [
            (A, NOW_MS / 1000),
            (B, NOW_MS / 1000),
            (A, ISSUED_AT + DEVICE_TTL_SECS),
        ] {
            if let Some(device) = parsers.devices.device_for(&value, account, now) {
                assert_eq!(
                    value, parsers.genuine,
                    "a forged device cookie was accepted"
                );
                assert_eq!(
                    account.id, A.id,
                    "a cookie was accepted for another account"
                );
                assert!(
                    now < ISSUED_AT + DEVICE_TTL_SECS,
                    "an expired cookie was accepted"
                );
                assert_eq!(device, "fuzz-device");
            }
        }
    }
});
