//! [`VerifiedClaims`]: the axum extractor, answering as the auth backend does when it
//! refuses (401 `missing_token` / `token_expired` / `invalid_token` with
//! `WWW-Authenticate`, 403 `csrf_rejected`) and 503 `not_ready` when the keys cannot be
//! fetched.

use axum::Json;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shared::names::{CSRF_HEADER, cookies};
use shared::{Claims, ErrorBody, ErrorCode};

use crate::error::{Invalid, VerifyError};
use crate::verifier::Verifier;

/// The claims of a verified access token, read from `Authorization: Bearer …` or else
/// from the backend's access-token cookie (`access_token`, or `__Secure-access_token`
/// with `COOKIE_SECURE`). The [`Verifier`] comes from the router's state (`FromRef`).
///
/// A cookie is sent by the browser on its own, so a request authenticated by it with a
/// method other than `GET`, `HEAD` or `OPTIONS` must also carry `X-CSRF-Token` equal to
/// the `csrf_token` cookie, as the backend demands; else 403 `csrf_rejected`.
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Claims);

/// Why [`VerifiedClaims`] refused a request; answers with the project's error body.
#[derive(Debug)]
pub enum AuthRejection {
    /// Neither an `Authorization` header nor the cookie.
    MissingToken,
    /// A cookie-authenticated unsafe request without the matching CSRF header.
    CsrfRejected,
    /// The token was refused (or could not be checked).
    Token(VerifyError),
}

impl<S> FromRequestParts<S> for VerifiedClaims
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AuthRejection> {
        let verifier = Verifier::from_ref(state);
        let token = access_token(&parts.method, &parts.headers, verifier.cookie_secure())?;
        match verifier.verify(&token).await {
            Ok(claims) => Ok(Self(claims)),
            Err(error) => {
                tracing::debug!(%error, "access token refused");
                Err(AuthRejection::Token(error))
            }
        }
    }
}

/// The token from `Authorization: Bearer …`, else from the cookie.
fn access_token(
    method: &Method,
    headers: &HeaderMap,
    secure: Option<bool>,
) -> Result<String, AuthRejection> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
            .ok_or(AuthRejection::Token(Invalid::Malformed.into()));
    }
    let token = cookie(headers, cookies::ACCESS, secure).ok_or(AuthRejection::MissingToken)?;
    if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let csrf = cookie(headers, cookies::CSRF, secure);
        let echoed = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !csrf.is_some_and(|csrf| echoed.is_some_and(|echoed| same(&csrf, echoed))) {
            return Err(AuthRejection::CsrfRejected);
        }
    }
    Ok(token)
}

/// The non-empty value of the cookie `name`, read by the backend's own rule
/// ([`shared::cookies`]: as sent, the last of a name winning): under exactly the name the
/// server sets when the verifier was told whether it sets `Secure` cookies, else under its
/// `__Secure-` name when one was sent (whatever its value) and its plain name otherwise.
fn cookie(headers: &HeaderMap, name: &str, secure: Option<bool>) -> Option<String> {
    let lines: Vec<&[u8]> = headers
        .get_all(header::COOKIE)
        .into_iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let found = match secure {
        None => shared::cookies::secure_first(&lines, name),
        Some(secure) => shared::cookies::last(lines, cookies::prefix(secure), name),
    };
    found.filter(|value| !value.is_empty()).map(str::to_owned)
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl AuthRejection {
    /// The error code of the answer.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MissingToken => ErrorCode::MissingToken,
            Self::CsrfRejected => ErrorCode::CsrfRejected,
            Self::Token(VerifyError::Expired) => ErrorCode::TokenExpired,
            Self::Token(VerifyError::JwksUnavailable { .. }) => ErrorCode::NotReady,
            Self::Token(VerifyError::UnknownKey { .. } | VerifyError::Invalid(_)) => {
                ErrorCode::InvalidToken
            }
        }
    }

    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        match self.code() {
            ErrorCode::CsrfRejected => StatusCode::FORBIDDEN,
            ErrorCode::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        // The body says only the code: which check failed stays in the log.
        let mut response = (status, Json(ErrorBody::from(self.code()))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn token(method: &Method, pairs: &[(&str, &str)]) -> Result<String, String> {
        access_token(method, &headers(pairs), None)
            .map_err(|rejection| rejection.code().to_string())
    }

    #[test]
    fn the_authorization_header_comes_before_the_cookie() {
        let both = [
            ("authorization", "Bearer h.e.ader"),
            ("cookie", "access_token=c.oo.kie"),
        ];
        assert_eq!(token(&Method::GET, &both).unwrap(), "h.e.ader");
        let lower = [("authorization", "bearer  h.e.ader ")];
        assert_eq!(token(&Method::GET, &lower).unwrap(), "h.e.ader");
        for broken in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "h.e.ader"] {
            let refused = token(&Method::GET, &[("authorization", broken)]).unwrap_err();
            assert_eq!(refused, "invalid_token", "{broken}");
        }
    }

    #[test]
    fn the_cookie_is_read_under_either_name_the_secure_one_first() {
        let plain = [("cookie", "csrf_token=x; access_token=plain")];
        assert_eq!(token(&Method::GET, &plain).unwrap(), "plain");
        let both = [
            ("cookie", "access_token=plain"),
            ("cookie", "__Secure-access_token=secure"),
        ];
        assert_eq!(token(&Method::GET, &both).unwrap(), "secure");
        for nothing in [
            &[][..],
            &[("cookie", "access_token=")],
            &[("cookie", "other=1")],
        ] {
            assert_eq!(token(&Method::GET, nothing).unwrap_err(), "missing_token");
        }
    }

    /// The backend reads the last cookie of a name, so the SPA echoes the last CSRF token;
    /// a verifier that read another would refuse the SPA's requests, or take a planted
    /// token the backend never looks at.
    #[test]
    fn the_last_cookie_of_a_name_wins_as_on_the_backend() {
        let twice = [
            ("cookie", "access_token=planted; csrf_token=planted"),
            ("cookie", "csrf_token=ours; access_token=ours"),
            ("x-csrf-token", "ours"),
        ];
        assert_eq!(token(&Method::GET, &twice).unwrap(), "ours");
        assert_eq!(token(&Method::POST, &twice).unwrap(), "ours");
        let echoed_first = [twice[0], twice[1], ("x-csrf-token", "planted")];
        assert_eq!(
            token(&Method::POST, &echoed_first).unwrap_err(),
            "csrf_rejected"
        );
        // A value a browser sent in bytes that are not ASCII hides nothing else.
        let mut foreign = headers(&[("x-csrf-token", "c")]);
        let line = b"__Secure-csrf_token=c; x=\xff; __Secure-access_token=t";
        foreign.append(header::COOKIE, HeaderValue::from_bytes(line).unwrap());
        assert_eq!(access_token(&Method::POST, &foreign, None).unwrap(), "t");
    }

    #[test]
    fn a_secure_cookie_sent_empty_or_foreign_does_not_fall_back_to_the_plain_name() {
        let emptied = [("cookie", "access_token=plain; __Secure-access_token=")];
        assert_eq!(token(&Method::GET, &emptied).unwrap_err(), "missing_token");
        let mut foreign = headers(&[("cookie", "access_token=plain")]);
        let line = HeaderValue::from_bytes(b"__Secure-access_token=\xff").unwrap();
        foreign.append(header::COOKIE, line);
        let refused = access_token(&Method::GET, &foreign, None).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::MissingToken);
    }

    /// Told the server's `COOKIE_SECURE`, the verifier reads the names the server reads
    /// and no other: a plain cookie (which a plain-HTTP page may set) is nothing to a
    /// `Secure` deployment, and the other way round.
    #[test]
    fn told_whether_cookies_are_secure_only_those_names_count() {
        let plain = headers(&[("cookie", "access_token=plain; csrf_token=c")]);
        let secure = headers(&[("cookie", "__Secure-access_token=s; __Secure-csrf_token=c")]);
        let code = |result: Result<String, AuthRejection>| result.map_err(|r| r.code().to_string());
        let missing = Err("missing_token".to_owned());
        for (sent, told, expected) in [
            (&plain, true, missing.clone()),
            (&secure, true, Ok("s".to_owned())),
            (&secure, false, missing),
            (&plain, false, Ok("plain".to_owned())),
        ] {
            let read = code(access_token(&Method::GET, sent, Some(told)));
            assert_eq!(read, expected, "COOKIE_SECURE={told}");
        }
        // The CSRF cookie too: a plain one beside a `__Secure-` token does not count.
        let mixed = headers(&[
            ("cookie", "__Secure-access_token=s; csrf_token=c"),
            ("x-csrf-token", "c"),
        ]);
        let refused = code(access_token(&Method::POST, &mixed, Some(true))).unwrap_err();
        assert_eq!(refused, "csrf_rejected");
    }

    #[test]
    fn a_cookie_on_an_unsafe_method_needs_the_csrf_header() {
        let cookie = ("cookie", "access_token=t; csrf_token=abc");
        assert_eq!(
            token(&Method::POST, &[cookie]).unwrap_err(),
            "csrf_rejected"
        );
        let wrong = [cookie, ("x-csrf-token", "abd")];
        assert_eq!(token(&Method::DELETE, &wrong).unwrap_err(), "csrf_rejected");
        let no_cookie = [("cookie", "access_token=t"), ("x-csrf-token", "")];
        assert_eq!(
            token(&Method::PUT, &no_cookie).unwrap_err(),
            "csrf_rejected"
        );
        let echoed = [cookie, ("x-csrf-token", "abc")];
        assert_eq!(token(&Method::POST, &echoed).unwrap(), "t");
        let bearer = [("authorization", "Bearer t")];
        assert_eq!(token(&Method::POST, &bearer).unwrap(), "t");
    }
}
