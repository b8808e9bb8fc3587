//! Reading a cookie from `Cookie` request headers (or from `document.cookie`, which has the
//! same shape), one rule for the server, the verifier and the SPA.
//!
//! - **As sent.** Names and values are not percent-decoded: a name that spells `__Secure-`
//!   in escapes is another cookie to a browser (one that any plain-HTTP page of the site
//!   may set), so it is another cookie here too; our values are base64url or JWTs, which
//!   never need decoding.
//! - **The last of a name wins.** When a page of a sibling domain or a longer path has set
//!   a cookie of the same name, the browser sends both; every reader picks the same one,
//!   so the SPA echoes the very CSRF token the server compares with.
//! - **Byte by byte.** A pair whose value is not ASCII (a browser sends whatever bytes a
//!   page set) is skipped alone instead of hiding every other cookie on its line. ASCII,
//!   not UTF-8: `document.cookie` hands the SPA such bytes already decoded to text, so
//!   only an ASCII value reads the same to every reader. Ours are all ASCII.
//!
//! Pairs are split at `;`, then at their first `=`, and name and value are trimmed of
//! spaces and tabs, as `cookie::Cookie::split_parse` does for the ASCII lines it accepts
//! (the server's fuzz target holds the two to the same answer). The `cookie` crate is not
//! used here because the SPA would carry it and its time and percent-encoding crates
//! for these few lines, and because it takes a `&str`, so one foreign byte loses the line.

use crate::names::cookies::{SECURE_PREFIX, prefix};

/// The value of the last cookie named exactly `prefix` followed by `name` on any of
/// `lines`.
pub fn last<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
    prefix: &str,
    name: &str,
) -> Option<&'a str> {
    values(lines, prefix, name)
        .filter_map(|value| value.is_ascii().then(|| std::str::from_utf8(value).ok())?)
        .last()
}

/// The value of the cookie `name` under its `__Secure-` name when one was sent, else under
/// its plain name: for a reader that is not told whether the server sets `Secure` cookies
/// (the SPA; the verifier unless configured). A `__Secure-` cookie can only come from a
/// secure page, so once one is sent, whatever its value, the plain name is not read.
pub fn secure_first<'a>(lines: &[&'a [u8]], name: &str) -> Option<&'a str> {
    let lines = || lines.iter().copied();
    let secure_sent = values(lines(), SECURE_PREFIX, name).next().is_some();
    last(lines(), prefix(secure_sent), name)
}

/// The raw values, in order, of the pairs named exactly `prefix` followed by `name`.
fn values<'a, 'n>(
    lines: impl IntoIterator<Item = &'a [u8]>,
    prefix: &'n str,
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> {
    lines
        .into_iter()
        .flat_map(|line| line.split(|byte| *byte == b';'))
        .filter_map(move |pair| {
            let equals = pair.iter().position(|byte| *byte == b'=')?;
            let (key, value) = (&pair[..equals], &pair[equals + 1..]);
            let key = trim(key).strip_prefix(prefix.as_bytes())?;
            (key == name.as_bytes()).then(|| trim(value))
        })
}

fn trim(bytes: &[u8]) -> &[u8] {
    let blank = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !blank(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &'static str, prefix: &str, name: &str) -> Option<&'static str> {
        last([line.as_bytes()], prefix, name)
    }

    #[test]
    fn the_last_of_a_name_wins_across_lines() {
        let lines: [&[u8]; 2] = [
            b"csrf_token=c; access_token=first",
            b"x=1;  access_token=last ;",
        ];
        assert_eq!(last(lines, "", "access_token"), Some("last"));
        assert_eq!(last(lines, "", "csrf_token"), Some("c"));
        assert_eq!(last(lines, "", "refresh_token"), None);
        assert_eq!(last([], "", "access_token"), None);
    }

    #[test]
    fn names_are_matched_exactly_as_sent() {
        let line = "access_token=plain; __Secure-access_token=prefixed";
        assert_eq!(one(line, "__Secure-", "access_token"), Some("prefixed"));
        assert_eq!(one(line, "", "access_token"), Some("plain"));
        let planted = "__Secure-access_token=ours; %5F%5FSecure-access_token=x";
        assert_eq!(one(planted, "__Secure-", "access_token"), Some("ours"));
        assert_eq!(
            one("access_token_2=x; xaccess_token=y", "", "access_token"),
            None
        );
        assert_eq!(one("Access_Token=x", "", "access_token"), None);
        // Values are not decoded either.
        assert_eq!(one("access_token=%41", "", "access_token"), Some("%41"));
    }

    #[test]
    fn pairs_split_at_their_first_equals_sign_and_are_trimmed() {
        assert_eq!(one("a=b=c", "", "a"), Some("b=c"));
        assert_eq!(one(" \ta = b \t", "", "a"), Some("b"));
        assert_eq!(one("a=", "", "a"), Some(""));
        assert_eq!(one("a", "", "a"), None);
        assert_eq!(one("a=\"quoted\"", "", "a"), Some("\"quoted\""));
    }

    #[test]
    fn a_pair_that_is_not_ascii_is_skipped_alone() {
        let line: &[u8] = b"access_token=ours; x=\xff\xfe; csrf_token=c";
        assert_eq!(last([line], "", "access_token"), Some("ours"));
        assert_eq!(last([line], "", "csrf_token"), Some("c"));
        assert_eq!(last([line], "", "x"), None);
        let foreign: &[u8] = b"access_token=ours; access_token=\xff";
        assert_eq!(last([foreign], "", "access_token"), Some("ours"));
        // Text, but not ASCII: `document.cookie` shows the SPA such bytes as text.
        let text = "access_token=ours; access_token=\u{e9}t\u{e9}";
        assert_eq!(one(text, "", "access_token"), Some("ours"));
    }

    #[test]
    fn once_a_secure_name_is_sent_the_plain_one_is_not_read() {
        let both: [&[u8]; 2] = [b"access_token=plain", b"__Secure-access_token=secure"];
        assert_eq!(secure_first(&both, "access_token"), Some("secure"));
        let plain: [&[u8]; 1] = [b"access_token=plain; __Secure-access_tokens=x"];
        assert_eq!(secure_first(&plain, "access_token"), Some("plain"));
        let emptied: [&[u8]; 1] = [b"access_token=plain; __Secure-access_token ="];
        assert_eq!(secure_first(&emptied, "access_token"), Some(""));
        let foreign: [&[u8]; 1] = [b"access_token=plain; __Secure-access_token=\xff"];
        assert_eq!(secure_first(&foreign, "access_token"), None);
        let blanks: [&[u8]; 1] = [b" __Secure-access_token\t= s ; access_token=p"];
        assert_eq!(secure_first(&blanks, "access_token"), Some("s"));
        assert_eq!(secure_first(&[b"other=1"], "access_token"), None);
    }
}
