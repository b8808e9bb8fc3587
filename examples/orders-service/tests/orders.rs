//! The example service as an operator runs it: a process of its own, given nothing but
//! the auth server's `PUBLIC_URL`, facing the real backend's tokens.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::process::backend_command;
use testkit::{BackendProcess, EdDsaBackend, error_code};

/// A token-shaped string naming a key no one published.
const STRANGER: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImsifQ.e30.c2lnbmF0dXJl";

/// `orders-service` for the auth server at `public_url`, on a free port.
async fn orders_service(public_url: &str) -> BackendProcess {
    let bin = Path::new(env!("CARGO_BIN_EXE_orders-service"));
    let mut command = backend_command(bin, &std::env::temp_dir());
    command
        .env("PUBLIC_URL", public_url)
        .env("BIND_ADDR", "127.0.0.1:0");
    BackendProcess::launch(command).await
}

async fn get_orders(service: &BackendProcess, token: Option<&str>) -> reqwest::Response {
    let request = reqwest::Client::new().get(service.url("/orders"));
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    request.send().await.unwrap()
}

async fn assert_refused(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status, "{code}");
    let challenge = response.headers().get("www-authenticate").cloned();
    assert_eq!(
        challenge.is_some(),
        status == StatusCode::UNAUTHORIZED,
        "{code}: {challenge:?}"
    );
    assert_eq!(error_code(response).await, code);
}

#[tokio::test]
async fn orders_are_served_to_the_holder_of_a_real_token_and_to_nobody_else() {
    let backend = EdDsaBackend::start(&[]).await;
    let user = backend.signed_in("shopper@example.com").await;
    let service = orders_service(&backend.base_url()).await;

    let health = reqwest::get(service.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );

    let served = get_orders(&service, Some(&user.token)).await;
    assert_eq!(served.status(), StatusCode::OK);
    let body: Value = served.json().await.unwrap();
    assert_eq!(body["user_id"], json!(user.user_id));
    assert!(!body["orders"].as_array().unwrap().is_empty());

    let (signed, signature) = user.token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed}.{flipped}{}", &signature[1..]);
    let cases = [
        (None, "missing_token"),
        (Some(forged.as_str()), "invalid_token"),
        (Some(STRANGER), "invalid_token"),
    ];
    for (token, code) in cases {
        let refused = get_orders(&service, token).await;
        assert_refused(refused, StatusCode::UNAUTHORIZED, code).await;
    }

    service.stop();
    backend.stop();
}

#[tokio::test]
async fn without_its_auth_server_the_service_refuses_every_token_with_503() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let service = orders_service(&nowhere).await;

    let health = reqwest::get(service.url("/health")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let refused = get_orders(&service, Some(STRANGER)).await;
    assert_refused(refused, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;

    let log = service.stop();
    assert!(log.contains("cannot fetch the JWKS"), "{log}");
    assert!(
        log.contains(&format!("{nowhere}/.well-known/jwks.json")),
        "{log}"
    );
}
