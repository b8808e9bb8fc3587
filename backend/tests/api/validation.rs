//! Registration input: emails, passwords, and bodies of the wrong shape or size.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn register_code(app: &TestApp, body: Value) -> (StatusCode, String) {
    let response = app.browser().post_json("/api/auth/register", &body).await;
    let status = response.status();
    assert!(
        set_cookies(&response).is_empty(),
        "a refused request sets no cookie"
    );
    (status, error_code(response).await)
}

/// Registration with `email` must still be possible: the refused request changed nothing.
async fn assert_nothing_created(app: &TestApp, email: &str) {
    let response = app.browser().register(email, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{email} was not created before"
    );
}

#[tokio::test]
async fn malformed_emails_are_refused() {
    let app = spawn_app().await;
    let too_long = format!(
        "{}@{}.com",
        "a".repeat(64),
        "b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(63)
    );
    for email in [
        "",
        "plain",
        "a@b",
        "two@@example.com",
        "sp ace@example.com",
        too_long.as_str(),
    ] {
        let (status, code) =
            register_code(&app, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_email"),
            "{email}"
        );
    }
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let app = spawn_app().await;
    for password in [
        "short1!",
        "password",
        "Password1",
        "qwertyuiop",
        "my-name-is-hannah-ok",
    ] {
        let (status, code) = register_code(
            &app,
            json!({"email": "hannah@example.com", "password": password}),
        )
        .await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "weak_password"),
            "{password}"
        );
    }
    assert_nothing_created(&app, "hannah@example.com").await;
}

#[tokio::test]
async fn a_password_over_128_characters_is_refused_not_truncated() {
    let app = spawn_app().await;
    let (status, code) = register_code(
        &app,
        json!({"email": "long@example.com", "password": "é".repeat(129)}),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "password_too_long")
    );

    // 128 characters are fine, and all of them count: a prefix does not log in.
    let password = format!("{}{}", "x".repeat(100), "Zq9!".repeat(7));
    assert_eq!(password.chars().count(), 128);
    let browser = app.browser();
    assert_eq!(
        browser
            .register("long@example.com", &password)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.browser()
            .login("long@example.com", &password[..127])
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.browser()
            .login("long@example.com", &password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn passwords_are_compared_after_nfkc_normalisation() {
    let app = spawn_app().await;
    // "ﬁ" (U+FB01) is "fi" under NFKC; so is the fullwidth "ｆｉ".
    assert_eq!(
        app.browser()
            .register("nfkc@example.com", "ﬁshing-boat-42")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.browser()
            .login("nfkc@example.com", "fishing-boat-42")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.browser()
            .login("nfkc@example.com", "ｆｉshing-boat-42")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn case_and_width_variants_of_an_existing_email_are_taken() {
    let app = spawn_app().await;
    app.signed_in("taken@example.com").await;
    for variant in [
        "TAKEN@example.com",
        " taken@EXAMPLE.com ",
        "ｔａｋｅｎ@example.com",
    ] {
        let (status, code) =
            register_code(&app, json!({"email": variant, "password": PASSWORD})).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::CONFLICT, "email_taken"),
            "{variant}"
        );
    }
}

#[tokio::test]
async fn unknown_fields_such_as_role_are_refused() {
    let app = spawn_app().await;
    for extra in [
        json!({"role": "admin"}),
        json!({"id": "x"}),
        json!({"is_admin": true}),
    ] {
        let mut body = json!({"email": "sneaky@example.com", "password": PASSWORD});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let (status, code) = register_code(&app, body).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
        );
    }
    assert_nothing_created(&app, "sneaky@example.com").await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_refused() {
    let app = spawn_app().await;
    for body in [
        json!({"email": 42, "password": PASSWORD}),
        json!({"email": "types@example.com", "password": ["a"]}),
        json!({"email": "types@example.com", "password": null}),
        json!({"email": "types@example.com"}),
        json!({}),
        json!([]),
        json!("text"),
        // serde would read a struct from an array of its fields: an object is required.
        json!(["types@example.com", PASSWORD]),
    ] {
        let (status, code) = register_code(&app, body.clone()).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            "{body}"
        );
    }
    assert_nothing_created(&app, "types@example.com").await;
}

#[tokio::test]
async fn syntax_errors_and_deep_nesting_are_invalid_bodies() {
    let app = spawn_app().await;
    let deep = format!(
        r#"{{"email":"deep@example.com","password":"{PASSWORD}","x":{}1{}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    for body in [r#"{"email": "#.to_owned(), "not json".to_owned(), deep] {
        let browser = app.browser();
        let response = browser
            .send(
                browser
                    .request(Method::POST, "/api/auth/register")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        let status = response.status();
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}"
        );
        assert_eq!(error_code(response).await, "invalid_body");
    }
    assert_nothing_created(&app, "deep@example.com").await;
}

#[tokio::test]
async fn bodies_over_16_kib_are_refused_with_413() {
    let app = spawn_app().await;
    let password = "p".repeat(17 * 1024);
    let (status, code) = register_code(
        &app,
        json!({"email": "big@example.com", "password": password}),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );

    // Without a Content-Length (chunked), the extractor's limit applies.
    let browser = app.browser();
    let body = json!({"email": "big@example.com", "password": "p".repeat(17 * 1024)}).to_string();
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(body.into_bytes())]);
    let response = browser
        .send(
            browser
                .request(Method::POST, "/api/auth/login")
                .header("content-type", "application/json")
                .body(reqwest::Body::wrap_stream(stream)),
        )
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(response).await, "payload_too_large");
    assert_nothing_created(&app, "big@example.com").await;
}
