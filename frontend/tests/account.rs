//! The account pages — emailed links, forgotten and changed passwords, the reminder to
//! verify the email — rendered as the whole app in a real browser against a scripted
//! `fetch`.

mod support;

use frontend::api::browser::forget_csrf_token;
use frontend::pages::{PASSWORD_CHANGED, RESET_LINK_SENT};
use frontend::session::PASSWORD_RESET_NOTICE;
use shared::ErrorCode;
use support::{
    FakeServer, Reply, address_bar, auth_json_for, error_json, fill, find, me_json, open_app,
    set_csrf_cookie, submit, text, until, user_json,
};
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A browser that holds a session of a user whose email is (or is not) verified.
fn signed_in(email_verified: bool) -> String {
    set_csrf_cookie("csrf-account");
    auth_json_for(&user_json("user", email_verified), 900)
}

#[wasm_bindgen_test]
async fn a_link_token_leaves_the_address_bar_before_any_request_and_travels_in_the_post_body() {
    let auth = signed_in(false);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth.clone()),
        "/api/auth/email/verify" => Reply::Json(204, String::new()),
        "/api/me" => Reply::Json(200, me_json(true)),
        _ => Reply::Json(404, error_json("not_found")),
    });
    let (root, _app) = open_app("/verify-email#token=secret-link-token");
    assert_eq!(address_bar(), "/verify-email", "gone before anything else");

    assert!(until(|| text(&root, "#verify-result").contains("Your email is verified.")).await);
    // Signed in here: once both the verification and the resumed session are through,
    // the session asks again who the user is (now verified).
    assert!(until(|| !server.calls_to("/api/me").is_empty()).await);
    let calls = server.calls();
    for call in &calls {
        assert!(!call.address.contains("secret-link-token"), "{call:?}");
        assert!(!call.url.contains("secret-link-token"), "{call:?}");
    }
    let verify = server.calls_to("/api/auth/email/verify");
    assert_eq!(verify.len(), 1, "{calls:?}");
    assert_eq!(verify[0].method, "POST");
    assert_eq!(verify[0].body, r#"{"token":"secret-link-token"}"#);
    // The home page has no reminder to verify any more.
    find::<HtmlElement>(&root, "nav a[href='/']").click();
    assert!(
        until(|| {
            text(&root, "#user-email") == "ann@example.com"
                && root.query_selector("#verify-banner").unwrap().is_none()
        })
        .await,
        "{}",
        root.inner_html()
    );
}

#[wasm_bindgen_test]
async fn a_verification_link_works_in_a_browser_that_is_not_signed_in() {
    forget_csrf_token();
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/email/verify" => Reply::Json(400, error_json("invalid_link")),
        _ => Reply::Json(401, error_json("missing_token")),
    });
    let (root, _app) = open_app("/verify-email#token=used-token");
    assert!(
        until(|| text(&root, "#verify-result").contains(ErrorCode::InvalidLink.message())).await,
        "{}",
        root.inner_html()
    );
    assert_eq!(address_bar(), "/verify-email");
    assert_eq!(
        server.calls().len(),
        1,
        "the verification alone: {:?}",
        server.calls()
    );
}

#[wasm_bindgen_test]
async fn a_reset_link_sets_the_new_password_and_hands_over_to_sign_in_with_a_notice() {
    forget_csrf_token();
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/password/reset" => Reply::Json(204, String::new()),
        _ => Reply::Json(401, error_json("missing_token")),
    });
    let (root, _app) = open_app("/reset-password#token=reset-token-1");
    assert_eq!(address_bar(), "/reset-password");

    fill(&root, "#password", "a brand new passphrase");
    submit(&root);
    assert!(
        until(|| address_bar() == "/login").await,
        "{}",
        address_bar()
    );
    assert!(until(|| text(&root, "#notice") == PASSWORD_RESET_NOTICE).await);
    let reset = server.calls_to("/api/auth/password/reset");
    assert_eq!(reset.len(), 1, "{:?}", server.calls());
    assert_eq!(
        reset[0].body,
        r#"{"token":"reset-token-1","password":"a brand new passphrase"}"#
    );
    assert!(
        server
            .calls()
            .iter()
            .all(|c| !c.address.contains("reset-token-1"))
    );
}

#[wasm_bindgen_test]
async fn a_used_or_expired_reset_link_says_so_and_offers_a_new_one() {
    forget_csrf_token();
    let _server = FakeServer::install(|_| Reply::Json(400, error_json("invalid_link")));
    let (root, _app) = open_app("/reset-password#token=expired-token");
    fill(&root, "#password", "a brand new passphrase");
    submit(&root);
    assert!(
        until(|| text(&root, ".alert") == ErrorCode::InvalidLink.message()).await,
        "{}",
        root.inner_html()
    );
    assert_eq!(address_bar(), "/reset-password", "no move to sign in");
    find::<HtmlElement>(&root, "main a[href='/forgot-password']");
}

#[wasm_bindgen_test]
async fn a_reset_page_without_a_token_says_the_link_is_incomplete_and_sends_nothing() {
    forget_csrf_token();
    let server = FakeServer::install(|_| Reply::NetworkError);
    let (root, _app) = open_app("/reset-password");
    assert!(text(&root, ".alert").contains("This link is incomplete"));
    assert!(root.query_selector("#password").unwrap().is_none());
    find::<HtmlElement>(&root, "main a[href='/forgot-password']");
    assert!(server.calls().is_empty(), "{:?}", server.calls());
}

#[wasm_bindgen_test]
async fn a_forgotten_password_request_says_the_same_whatever_the_account() {
    forget_csrf_token();
    let server = FakeServer::install(|_| Reply::Json(202, "{}".into()));
    let (root, _app) = open_app("/login");
    find::<HtmlElement>(&root, "main a[href='/forgot-password']").click();
    assert!(until(|| text(&root, "h1") == "Forgotten password").await);
    assert_eq!(address_bar(), "/forgot-password");

    fill(&root, "#email", "who@example.com");
    find::<HtmlButtonElement>(&root, "button[type=submit]").click();
    assert!(until(|| text(&root, "#notice") == RESET_LINK_SENT).await);
    let forgot = server.calls_to("/api/auth/password/forgot");
    assert_eq!(forgot.len(), 1, "{:?}", server.calls());
    assert_eq!(forgot[0].body, r#"{"email":"who@example.com"}"#);
}

#[wasm_bindgen_test]
async fn the_reminder_to_verify_shows_only_while_the_email_is_unverified() {
    let auth = signed_in(true);
    let _server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth.clone()),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app("/");
    assert!(until(|| text(&root, "#user-email") == "ann@example.com").await);
    assert!(root.query_selector("#verify-banner").unwrap().is_none());
    drop(app);

    let auth = signed_in(false);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth.clone()),
        "/api/auth/email/resend" => Reply::Json(202, "{}".into()),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, _app) = open_app("/");
    assert!(until(|| text(&root, "#verify-banner").contains("Please verify your email")).await);
    find::<HtmlButtonElement>(&root, "#resend-verification").click();
    assert!(
        until(
            || text(&root, "#verify-banner").contains("We've sent a new link to ann@example.com.")
        )
        .await
    );
    let resend = server.calls_to("/api/auth/email/resend");
    assert_eq!(resend.len(), 1, "{:?}", server.calls());
    assert_eq!(resend[0].method, "POST");
    assert_eq!(resend[0].csrf.as_deref(), Some("csrf-account"));
}

#[wasm_bindgen_test]
async fn a_second_resend_within_the_minute_says_to_wait() {
    let auth = signed_in(false);
    let _server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth.clone()),
        "/api/auth/email/resend" => Reply::Json(429, error_json("too_many_attempts")),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, _app) = open_app("/");
    let button = || find::<HtmlButtonElement>(&root, "#resend-verification");
    assert!(
        until(|| root
            .query_selector("#resend-verification")
            .unwrap()
            .is_some())
        .await
    );
    button().click();
    assert!(until(|| text(&root, "#verify-banner").contains("Try again in 42 seconds")).await);
    assert!(!button().disabled(), "usable again after the answer");
}

/// Opens the security page signed in, changes the password there, and returns the page
/// and the calls seen, once `done` holds of the page.
async fn change_password(
    change_reply: impl Fn() -> Reply + 'static,
    done: impl Fn(&HtmlElement) -> bool,
) -> (HtmlElement, impl Drop, FakeServer) {
    let auth = signed_in(true);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth.clone()),
        "/api/auth/password/change" => change_reply(),
        _ => Reply::Json(200, "[]".into()),
    });
    let (root, app) = open_app("/security");
    assert!(until(|| root.query_selector("#current-password").unwrap().is_some()).await);
    fill(&root, "#current-password", "my old passphrase");
    fill(&root, "#new-password", "a brand new passphrase");
    submit(&root);
    assert!(until(|| done(&root)).await, "{}", root.inner_html());
    (root, app, server)
}

#[wasm_bindgen_test]
async fn a_wrong_current_password_is_said_next_to_it_and_prompts_no_refresh() {
    let (_root, _app, server) = change_password(
        || Reply::Json(401, error_json("invalid_credentials")),
        |root| text(root, "#current-password-error").contains("not correct"),
    )
    .await;
    assert_eq!(server.calls_to("/api/auth/password/change").len(), 1);
    assert_eq!(
        server.calls_to("/api/auth/refresh").len(),
        1,
        "only the one that resumed the session: {:?}",
        server.calls()
    );
    assert_eq!(address_bar(), "/security", "still signed in, still here");
}

#[wasm_bindgen_test]
async fn a_changed_password_says_the_other_devices_are_signed_out() {
    let (_root, _app, server) = change_password(
        || Reply::Json(204, String::new()),
        |root| text(root, "#notice") == PASSWORD_CHANGED,
    )
    .await;
    let change = server.calls_to("/api/auth/password/change");
    assert_eq!(change.len(), 1);
    assert_eq!(change[0].csrf.as_deref(), Some("csrf-account"));
    assert_eq!(
        change[0].body,
        r#"{"current_password":"my old passphrase","new_password":"a brand new passphrase"}"#
    );
}
