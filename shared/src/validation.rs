//! Email and password rules, applied by the server and checked early by the SPA.

use crate::ErrorCode;

/// Longest accepted email, in bytes (RFC 5321 path limit less the angle brackets).
pub const EMAIL_MAX_BYTES: usize = 254;
/// Longest accepted local part, in bytes (RFC 5321).
const LOCAL_PART_MAX_BYTES: usize = 64;
/// Fewest Unicode code points in a password, after NFKC.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Most Unicode code points in a password, after NFKC.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// Local parts shorter than this are not searched for in passwords (too many false hits).
const LOCAL_PART_MIN_CHECKED: usize = 3;

/// The password rules in words, as a literal, so that `concat!` can build
/// [`ErrorCode::WeakPassword`]'s message from it and that message and [`PASSWORD_RULES`]
/// cannot disagree.
macro_rules! password_rules {
    () => {
        "at least 8 characters, not a common password, and not containing your email name"
    };
}
pub(crate) use password_rules;

/// The password rules in words, for a hint next to a new password (the SPA's register page).
pub const PASSWORD_RULES: &str = password_rules!();

/// Why an email was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailProblem {
    /// Longer than [`EMAIL_MAX_BYTES`].
    TooLong,
    /// Not of the form `local@domain.tld`.
    Syntax,
}

impl EmailProblem {
    /// The API error code for this problem.
    pub fn code(self) -> ErrorCode {
        ErrorCode::InvalidEmail
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer than [`PASSWORD_MIN_CHARS`] code points.
    TooShort,
    /// More than [`PASSWORD_MAX_CHARS`] code points.
    TooLong,
    /// Contains the email's local part.
    ContainsEmail,
    /// On the list of common passwords (checked by the server only).
    Common,
}

impl PasswordProblem {
    /// The API error code for this problem.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::TooLong => ErrorCode::PasswordTooLong,
            Self::TooShort | Self::ContainsEmail | Self::Common => ErrorCode::WeakPassword,
        }
    }
}

/// NFKC normalisation (compatibility decomposition, then canonical composition).
#[cfg(feature = "nfkc")]
pub fn nfkc(text: &str) -> String {
    unicode_normalization::UnicodeNormalization::nfkc(text).collect()
}

/// The canonical form of an email: trimmed, NFKC-normalised, lower-cased, syntax-checked.
#[cfg(feature = "nfkc")]
pub fn canonical_email(raw: &str) -> Result<String, EmailProblem> {
    canonical_email_with(raw, nfkc)
}

/// [`canonical_email`] with the NFKC normalisation supplied by the caller.
///
/// The syntax is the WHATWG "valid e-mail address" (what `<input type=email>` accepts), with
/// RFC 5321's length limits, no empty dot-separated local-part segments, and a domain of at
/// least two labels. Internationalised addresses are refused rather than guessed at.
pub fn canonical_email_with(
    raw: &str,
    nfkc: impl Fn(&str) -> String,
) -> Result<String, EmailProblem> {
    // ASCII lower-casing is Unicode's here: after NFKC no other character lower-cases to
    // ASCII (the Kelvin sign, the one that would, is already `K`), so any other character
    // leaves an address that the syntax refuses either way.
    let email = nfkc(raw.trim()).to_ascii_lowercase();
    if email.len() > EMAIL_MAX_BYTES {
        return Err(EmailProblem::TooLong);
    }
    let (local, domain) = email.split_once('@').ok_or(EmailProblem::Syntax)?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return Err(EmailProblem::Syntax);
    }
    Ok(email)
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.len() <= LOCAL_PART_MAX_BYTES
        && local.split('.').all(|segment| !segment.is_empty())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            let bytes = label.as_bytes();
            (1..=63).contains(&bytes.len())
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        })
}

/// The form of a password that is hashed: NFKC-normalised, never truncated.
#[cfg(feature = "nfkc")]
pub fn normalize_password(raw: &str) -> String {
    nfkc(raw)
}

/// Checks a normalised password against the length rules and the email it belongs to.
///
/// The common-password list lives on the server only; it is too large to ship to browsers.
pub fn check_password(password: &str, canonical_email: &str) -> Result<(), PasswordProblem> {
    check_password_with(password, canonical_email, str::to_lowercase)
}

/// [`check_password`] with Unicode lower-casing supplied by the caller (the SPA passes the
/// browser's `String.prototype.toLowerCase`, which keeps Rust's case tables out of the WASM).
pub fn check_password_with(
    password: &str,
    canonical_email: &str,
    lowercase: impl Fn(&str) -> String,
) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(PasswordProblem::TooShort);
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(PasswordProblem::TooLong);
    }
    let local = canonical_email.split('@').next().unwrap_or_default();
    if local.chars().count() >= LOCAL_PART_MIN_CHECKED && lowercase(password).contains(local) {
        return Err(PasswordProblem::ContainsEmail);
    }
    Ok(())
}

#[cfg(all(test, feature = "nfkc"))]
mod tests {
    use super::*;

    #[test]
    fn canonical_email_trims_lowercases_and_folds_width() {
        assert_eq!(
            canonical_email("  Alice.Smith@Example.COM "),
            Ok("alice.smith@example.com".into())
        );
        // Fullwidth letters and the fullwidth at sign fold to ASCII under NFKC.
        assert_eq!(
            canonical_email("ＡＬＩＣＥ＠example.com"),
            Ok("alice@example.com".into())
        );
    }

    #[test]
    fn after_nfkc_ascii_lowercasing_is_unicode_lowercasing_wherever_the_result_is_ascii() {
        for c in ('\u{80}'..=char::MAX).chain(['A', 'z']) {
            let normalized = nfkc(&c.to_string());
            let lower = normalized.to_lowercase();
            if lower.is_ascii() {
                assert_eq!(normalized.to_ascii_lowercase(), lower, "{c:?}");
            }
        }
        // The Kelvin sign lower-cases to ASCII `k`, but NFKC has made it `K` already.
        assert_eq!(
            canonical_email("\u{212A}im@example.com"),
            Ok("kim@example.com".into())
        );
        assert_eq!(
            canonical_email("\u{130}nci@example.com"),
            Err(EmailProblem::Syntax)
        );
    }

    #[test]
    fn canonical_email_refuses_bad_syntax() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "alice@@example.com",
            "al ice@example.com",
            "alice@-example.com",
            "alice@example-.com",
            "alice@exa_mple.com",
            ".alice@example.com",
            "alice.@example.com",
            "al..ice@example.com",
            "alice@example..com",
            "\"alice\"@example.com",
            "älice@example.com",
        ] {
            assert_eq!(canonical_email(bad), Err(EmailProblem::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn canonical_email_refuses_more_than_254_bytes() {
        let label = "a".repeat(60);
        let domain = format!("{label}.{label}.{label}.{label}.com");
        let email = format!("{}@{domain}", "b".repeat(64));
        assert!(email.len() > EMAIL_MAX_BYTES);
        assert_eq!(canonical_email(&email), Err(EmailProblem::TooLong));
    }

    #[test]
    fn canonical_email_refuses_a_local_part_over_64_bytes() {
        let email = format!("{}@example.com", "a".repeat(65));
        assert_eq!(canonical_email(&email), Err(EmailProblem::Syntax));
    }

    #[test]
    fn password_length_counts_code_points_after_nfkc() {
        let email = "bob@example.com";
        assert_eq!(
            check_password("1234567", email),
            Err(PasswordProblem::TooShort)
        );
        // Eight two-byte characters are eight characters, not sixteen bytes.
        assert_eq!(check_password("éééééééé", email), Ok(()));
        assert_eq!(check_password(&"x".repeat(128), email), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(129), email),
            Err(PasswordProblem::TooLong)
        );
        // The ligature "ﬀ" becomes "ff" under NFKC: 4 ligatures are 8 characters.
        assert_eq!(normalize_password("ﬀﬀﬀﬀ"), "ffffffff");
    }

    #[test]
    fn password_containing_the_email_local_part_is_weak() {
        assert_eq!(
            check_password("my-Johnny-password", "johnny@example.com"),
            Err(PasswordProblem::ContainsEmail)
        );
        // Lower-casing is Unicode's: the dotted capital I becomes `i` and a combining dot.
        assert_eq!(
            check_password("Hello-YUKİ-123", "yuki@example.com"),
            Err(PasswordProblem::ContainsEmail)
        );
        assert_eq!(
            check_password_with(
                "Hello-YUKİ-123",
                "yuki@example.com",
                str::to_ascii_lowercase
            ),
            Ok(())
        );
        // Very short local parts are not searched for.
        assert_eq!(check_password("jojojojojo", "jo@example.com"), Ok(()));
    }

    #[test]
    fn the_password_rules_in_words_state_the_minimum_length() {
        let minimum = format!("at least {PASSWORD_MIN_CHARS} characters");
        assert!(PASSWORD_RULES.contains(&minimum), "{PASSWORD_RULES}");
    }

    #[test]
    fn problems_map_to_the_spec_codes() {
        assert_eq!(PasswordProblem::TooLong.code(), ErrorCode::PasswordTooLong);
        assert_eq!(PasswordProblem::Common.code(), ErrorCode::WeakPassword);
        assert_eq!(EmailProblem::Syntax.code(), ErrorCode::InvalidEmail);
    }
}
