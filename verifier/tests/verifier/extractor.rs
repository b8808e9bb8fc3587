//! `VerifiedClaims` in a real axum server: the token from the header or the cookie, and
//! the backend's answers when it is refused.

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use jwt_verifier::{VerifiedClaims, Verifier};
use reqwest::RequestBuilder;
use serde_json::{Value, json};

use crate::support::{Fixture, TestKey, claims};

/// A server whose `/whoami` answers the verified `sub` (to `GET` and `POST`).
async fn serve(verifier: Verifier) -> String {
    async fn whoami(VerifiedClaims(claims): VerifiedClaims) -> String {
        claims.sub
    }
    let app = Router::new()
        .route("/whoami", get(whoami).post(whoami))
        .with_state(verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/whoami", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Status, body, and `WWW-Authenticate`.
async fn call(request: RequestBuilder) -> (StatusCode, Value, Option<String>) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, challenge)
}

fn error(code: &str) -> Value {
    let code: shared::ErrorCode = serde_json::from_value(json!(code)).unwrap();
    serde_json::to_value(shared::ErrorBody::from(code)).unwrap()
}

const CHALLENGE: Option<&str> = Some("Bearer error=\"invalid_token\"");

#[tokio::test]
async fn a_token_in_the_header_or_either_cookie_gets_the_callers_claims() {
    let f = Fixture::start().await;
    let url = serve(f.verifier.clone()).await;
    let token = f.token();
    let http = reqwest::Client::new();

    let requests = [
        http.get(&url).bearer_auth(&token),
        http.get(&url)
            .header("cookie", format!("access_token={token}")),
        http.get(&url)
            .header("cookie", format!("__Secure-access_token={token}")),
        http.post(&url).bearer_auth(&token),
        http.post(&url)
            .header("cookie", format!("access_token={token}; csrf_token=abc"))
            .header("x-csrf-token", "abc"),
    ];
    for request in requests {
        let (status, body, _) = call(request).await;
        assert_eq!((status, body), (StatusCode::OK, json!("user-1")));
    }
}

/// Told the server's `COOKIE_SECURE`, the extractor reads only the names the server sets:
/// a plain cookie (which a plain-HTTP page may plant) counts for nothing beside `Secure`
/// ones, and the other way round.
#[tokio::test]
async fn told_cookie_secure_the_extractor_reads_only_the_servers_names() {
    let f = Fixture::start().await;
    let token = f.token();
    let http = reqwest::Client::new();
    for secure in [true, false] {
        let verifier = f
            .jwks
            .builder(&f.clock)
            .cookie_secure(secure)
            .build()
            .unwrap();
        let url = serve(verifier).await;
        let (ours, other) = if secure {
            ("__Secure-access_token", "access_token")
        } else {
            ("access_token", "__Secure-access_token")
        };
        let cookie = |name: &str| format!("{name}={token}");
        let (status, body, _) = call(http.get(&url).header("cookie", cookie(ours))).await;
        assert_eq!((status, body), (StatusCode::OK, json!("user-1")), "{ours}");
        let (status, body, _) = call(http.get(&url).header("cookie", cookie(other))).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, error("missing_token")),
            "{other}"
        );
    }
}

#[tokio::test]
async fn refusals_answer_as_the_backend_does() {
    let f = Fixture::start().await;
    let url = serve(f.verifier.clone()).await;
    let now = f.clock.now_secs();
    let mut expired = claims(now - 1000);
    expired["exp"] = json!(now - 1);
    let http = reqwest::Client::new();
    let get = |token: &str| http.get(&url).bearer_auth(token);

    let cases = [
        (http.get(&url), StatusCode::UNAUTHORIZED, "missing_token"),
        (
            get(&f.key.sign(&expired)),
            StatusCode::UNAUTHORIZED,
            "token_expired",
        ),
        (
            get("not.a.token"),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            get(&TestKey::new("key-1").sign(&claims(now))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            get(&TestKey::new("unknown").sign(&claims(now))),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            http.get(&url).header("authorization", "Basic dXNlcjpwYXNz"),
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            http.post(&url).header(
                "cookie",
                format!("access_token={}; csrf_token=abc", f.token()),
            ),
            StatusCode::FORBIDDEN,
            "csrf_rejected",
        ),
    ];
    for (request, status, code) in cases {
        let (got, body, challenge) = call(request).await;
        assert_eq!((got, &body), (status, &error(code)), "{code}");
        let expected = (status == StatusCode::UNAUTHORIZED)
            .then_some(CHALLENGE)
            .flatten();
        assert_eq!(challenge.as_deref(), expected, "{code}");
    }
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_answer_503_not_401() {
    let f = Fixture::start().await;
    f.jwks.answer(StatusCode::BAD_GATEWAY, "");
    let url = serve(f.verifier.clone()).await;
    let token = f.token();
    let (status, body, challenge) = call(reqwest::Client::new().get(&url).bearer_auth(token)).await;
    assert_eq!(
        (status, body, challenge),
        (StatusCode::SERVICE_UNAVAILABLE, error("not_ready"), None)
    );
}
