//! Extractors: JSON bodies with our error body, the authenticated user, the client.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use shared::{Claims, ErrorCode, Role};

use super::HttpState;
use super::cookies;
use super::error::ApiError;
use crate::auth::jwt::TokenError;
use crate::auth::sessions::ClientInfo;
use crate::error::Error;

/// Longest `User-Agent` kept on a session.
const MAX_USER_AGENT_CHARS: usize = 256;

/// `Json<T>` whose rejections are API errors: 415 without a JSON content type, 400 for
/// syntax (including too deep nesting), 422 for wrong types and missing or unknown
/// fields, and for any body that is not a JSON object (serde would take an array for a
/// struct), 413 over the body limit.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers()) {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorCode::PayloadTooLarge)
            } else {
                ApiError::new(ErrorCode::InvalidBody).with_status(StatusCode::BAD_REQUEST)
            }
        })?;
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::new(ErrorCode::InvalidBody));
        }
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// `application/json` or `application/…+json`, parameters aside.
fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(ErrorCode::UnsupportedMediaType),
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::InvalidBody),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::PayloadTooLarge)
        }
        _ => ApiError::new(ErrorCode::InvalidBody).with_status(StatusCode::BAD_REQUEST),
    }
}

/// A request carrying a valid access token of a live session. Verified by signature and
/// the in-memory revocation set alone: no database read.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User id (`sub`).
    pub user_id: String,
    /// Session id (`sid`).
    pub session_id: String,
    /// Role when the token was issued.
    pub role: Role,
}

impl FromRequestParts<HttpState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, ApiError> {
        let token = access_token(&parts.headers, state)?;
        let claims = verify_access_token(state, &token)?;
        // Fail closed: a copy of the revoked set that the database has not confirmed for
        // too long may be missing revocations.
        if !state
            .revoked
            .is_fresh(state.config.revocation_max_staleness)
        {
            return Err(Error::database_unavailable().into());
        }
        if state.revoked.contains(&claims.sid) {
            return Err(ApiError::new(ErrorCode::SessionRevoked));
        }
        Ok(Self {
            user_id: claims.sub,
            session_id: claims.sid,
            role: claims.role,
        })
    }
}

/// Verifies an access token's signature and claims at the state's clock.
pub fn verify_access_token(state: &HttpState, token: &str) -> Result<Claims, ApiError> {
    state
        .jwt
        .verify(token, state.clock.now_ms())
        .map_err(|error| match error {
            TokenError::Expired => ApiError::new(ErrorCode::TokenExpired),
            TokenError::Invalid => ApiError::new(ErrorCode::InvalidToken),
        })
}

/// The access token from `Authorization: Bearer …`, else from the cookie.
pub fn access_token(headers: &HeaderMap, state: &HttpState) -> Result<String, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
        return Ok(token.to_owned());
    }
    state
        .cookies
        .find(headers, cookies::ACCESS)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::MissingToken))
}

impl FromRequestParts<HttpState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer.map_or_else(
            || "unknown".to_owned(),
            |peer| client_ip(peer, &parts.headers, &state.config.trusted_proxies).to_string(),
        );
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
        Ok(Self { ip, user_agent })
    }
}

/// The client's address: walking from the peer back through `X-Forwarded-For` (right to
/// left), the first address that is not a trusted proxy. Only trusted proxies are believed
/// about who sent them the request, so the walk stops there; an entry that is not an
/// address stops it too, at the last trusted hop (everything left of it is the client's
/// own claim).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    // Split the raw bytes: a non-ASCII byte a client put in its part of the line must not
    // hide the hops the proxies appended after it.
    let hops: Vec<&[u8]> = headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .collect();
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match std::str::from_utf8(hop)
            .ok()
            .and_then(|h| h.trim().parse().ok())
        {
            Some(ip) => client = ip,
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &headers("198.51.100.1"), &[]), peer);
    }

    #[test]
    fn forwarded_for_is_read_right_to_left_past_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let got = client_ip(peer, &headers("1.1.1.1, 198.51.100.7, 10.0.0.3"), &trusted);
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
        // A garbled header falls back to the proxy itself rather than a guess.
        assert_eq!(client_ip(peer, &headers("nonsense"), &trusted), peer);
    }

    #[test]
    fn garbage_left_of_the_client_does_not_hide_it() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        // The client forged the left part; the trusted proxy appended the real address.
        let got = client_ip(peer, &headers("not-an-ip, 1.1.1.1, 198.51.100.7"), &trusted);
        assert_eq!(got, client);
        // Nor does a byte that is not text.
        let mut raw = HeaderMap::new();
        raw.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7").unwrap(),
        );
        assert_eq!(client_ip(peer, &raw, &trusted), client);
        // Garbage right of a trusted hop stops the walk at that hop.
        let got = client_ip(peer, &headers("198.51.100.7, junk, 10.0.0.3"), &trusted);
        assert_eq!(got, "10.0.0.3".parse::<IpAddr>().unwrap());
    }
}
