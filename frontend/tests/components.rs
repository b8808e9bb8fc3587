//! The sign-in and registration form, rendered in a real browser against a scripted
//! `fetch`: errors next to the fields they concern, and the busy state.

mod support;

use frontend::components::{CredentialsForm, Mode};
use leptos::mount::mount_to;
use leptos::prelude::*;
use support::{FakeServer, Reply, container, error_json, fill, find, submit, text, until};
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container holding the form; the returned handle keeps it mounted.
fn render(mode: Mode) -> (HtmlElement, impl Drop) {
    let container = container();
    let handle = mount_to(
        container.clone(),
        move || view! { <CredentialsForm mode=mode/> },
    );
    (container, handle)
}

fn fill_and_submit(root: &HtmlElement, email: &str, password: &str) {
    fill(root, "#email", email);
    fill(root, "#password", password);
    submit(root);
}

#[wasm_bindgen_test]
async fn client_side_rules_put_errors_next_to_their_fields_without_a_request() {
    let server = FakeServer::install(|_| Reply::NetworkError);
    let (root, _mounted) = render(Mode::Register);
    fill_and_submit(&root, "not-an-email", "short");
    assert!(until(|| !text(&root, "#email-error").is_empty()).await);
    assert_eq!(text(&root, "#email-error"), "Enter a valid email address.");
    let email: HtmlInputElement = find(&root, "#email");
    assert_eq!(email.get_attribute("aria-invalid").as_deref(), Some("true"));

    fill_and_submit(&root, "ann@example.com", "short");
    assert!(until(|| text(&root, "#email-error").is_empty()).await);
    assert!(text(&root, "#password-error").contains("at least 8 characters"));
    assert!(server.calls().is_empty(), "nothing was sent");
}

#[wasm_bindgen_test]
async fn a_password_holding_the_email_name_in_any_case_is_refused_before_sending() {
    let server = FakeServer::install(|_| Reply::NetworkError);
    let (root, _mounted) = render(Mode::Register);
    // The browser lower-cases by Unicode's rules: the dotted capital I holds an `i`.
    fill_and_submit(&root, "Yuki@Example.com", "Hello-YUKİ-123");
    assert!(until(|| !text(&root, "#password-error").is_empty()).await);
    assert!(text(&root, "#email-error").is_empty());
    assert!(text(&root, "#password-error").contains("not containing your email name"));
    assert!(server.calls().is_empty(), "nothing was sent");
}

#[wasm_bindgen_test]
async fn the_submit_button_is_disabled_with_a_spinner_while_the_request_runs() {
    let _server = FakeServer::install(|_| Reply::Never);
    let (root, _mounted) = render(Mode::Login);
    let button: HtmlButtonElement = find(&root, "button[type=submit]");
    assert!(!button.disabled());
    fill_and_submit(&root, "ann@example.com", "some password");
    assert!(until(|| button.disabled()).await);
    assert_eq!(button.get_attribute("aria-busy").as_deref(), Some("true"));
    assert!(root.query_selector("button .spinner").unwrap().is_some());
    assert_eq!(button.text_content().unwrap(), "Signing in…");
}

#[wasm_bindgen_test]
async fn server_errors_are_shown_as_sentences_where_they_belong() {
    for (code, selector, expected) in [
        (
            "invalid_credentials",
            ".alert",
            "The email or password is incorrect.",
        ),
        (
            "email_taken",
            "#email-error",
            "An account with this email already exists.",
        ),
        (
            "weak_password",
            "#password-error",
            "Choose a stronger password",
        ),
    ] {
        let status = if code == "invalid_credentials" {
            401
        } else {
            422
        };
        let _server = FakeServer::install(move |_| Reply::Json(status, error_json(code)));
        let (root, _mounted) = render(Mode::Register);
        fill_and_submit(&root, "ann@example.com", "Tr0ub4dor&3-long-enough");
        assert!(
            until(|| text(&root, selector).contains(expected)).await,
            "{code}: {}",
            root.inner_html()
        );
        let button: HtmlButtonElement = find(&root, "button[type=submit]");
        assert!(!button.disabled(), "usable again after the answer");
    }
}

#[wasm_bindgen_test]
async fn throttling_shows_how_long_to_wait() {
    let _server = FakeServer::install(|_| Reply::Json(429, error_json("too_many_attempts")));
    let (root, _mounted) = render(Mode::Login);
    fill_and_submit(&root, "ann@example.com", "some password");
    assert!(until(|| text(&root, ".alert").contains("Try again in 42 seconds")).await);
}

#[wasm_bindgen_test]
async fn an_html_error_page_or_no_answer_gives_a_readable_message() {
    for (reply, expected) in [
        (Reply::Html(502), "unexpected answer"),
        (Reply::NetworkError, "Cannot reach the server"),
    ] {
        let mut reply = Some(reply);
        let _server = FakeServer::install(move |_| reply.take().unwrap_or(Reply::NetworkError));
        let (root, _mounted) = render(Mode::Login);
        fill_and_submit(&root, "ann@example.com", "some password");
        assert!(
            until(|| text(&root, ".alert").contains(expected)).await,
            "{}",
            root.inner_html()
        );
    }
}

#[wasm_bindgen_test]
async fn a_registration_that_must_verify_its_email_first_says_so_and_signs_nobody_in() {
    let user = support::user_json("user", false);
    let server = FakeServer::install(move |_| Reply::Json(201, format!(r#"{{"user":{user}}}"#)));
    let (root, _mounted) = render(Mode::Register);
    fill_and_submit(&root, "ann@example.com", "Tr0ub4dor&3-long-enough");
    assert!(
        until(|| text(&root, "#notice")
            == "Check your email: we sent a link to verify ann@example.com. Then sign in.")
        .await,
        "{}",
        root.inner_html()
    );
    assert!(root.query_selector("form").unwrap().is_none());
    assert_eq!(frontend::api::api().session(), None, "not signed in");
    assert_eq!(server.calls().len(), 1);
}

#[wasm_bindgen_test]
async fn a_sign_in_refused_for_an_unverified_email_says_a_new_link_was_sent() {
    let _server = FakeServer::install(|_| Reply::Json(403, error_json("email_not_verified")));
    let (root, _mounted) = render(Mode::Login);
    fill_and_submit(&root, "ann@example.com", "some password");
    assert!(until(|| text(&root, ".alert") == shared::ErrorCode::EmailNotVerified.message()).await);
}
