//! Email and password rules, on text as typed.
//!
//! Input: the email, a newline, the password (the rest, newlines included).
//!
//! Checked: nothing panics; a canonical email is ASCII, lower-case, at most 254 bytes and
//! its own canonical form; the account check accepts exactly when the email is valid, the
//! password passes the shared rules and is not a common one, and returns their canonical
//! forms; the throttle counts a valid email under its canonical form and anything else
//! under a fixed-size digest; the normalised password is its own normal form.

#![no_main]

use backend::auth::accounts::{throttle_subject, validate_new_account};
use backend::auth::password::is_common;
use libfuzzer_sys::fuzz_target;
use shared::validation::{
    EMAIL_MAX_BYTES, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, canonical_email, check_password,
    normalize_password,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (email, password) = text.split_once('\n').unwrap_or((&text, ""));

    let canonical = canonical_email(email);
    if let Ok(canonical) = &canonical {
        assert!(canonical.is_ascii() && canonical.len() <= EMAIL_MAX_BYTES);
        assert_eq!(canonical, &canonical.to_ascii_lowercase());
        assert_eq!(
            canonical_email(canonical).as_ref(),
            Ok(canonical),
            "not idempotent"
        );
    }

    let normalized = normalize_password(password);
    assert_eq!(
        normalize_password(&normalized),
        normalized,
        "NFKC not idempotent"
    );

    let subject = throttle_subject(email);
    match &canonical {
        Ok(canonical) => assert_eq!(&subject, canonical),
        Err(_) => assert!(subject.starts_with("invalid:") && subject.len() == 8 + 64),
    }

    let verdict = validate_new_account(email, password);
    let expected = canonical.as_ref().ok().filter(|canonical| {
        check_password(&normalized, canonical).is_ok() && !is_common(&normalized)
    });
    match (&verdict, expected) {
        (Ok((email, password)), Some(canonical)) => {
            assert_eq!(email, canonical);
            assert_eq!(password, &normalized);
            let chars = password.chars().count();
            assert!((PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&chars));
        }
        (Err(_), None) => {}
        (verdict, expected) => panic!("validate_new_account {verdict:?}, rules say {expected:?}"),
    }
});
