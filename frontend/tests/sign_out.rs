//! Signing out — the sign-out button and the sessions page — rendered in a real browser
//! against a scripted `fetch`.

mod support;

use std::cell::Cell;
use std::rc::Rc;

use frontend::components::SignOutButton;
use frontend::pages::SessionsPage;
use frontend::session::{Session, Status, UNCONFIRMED_SIGN_OUT_NOTICE};
use leptos::mount::mount_to;
use leptos::prelude::*;
use support::{FakeServer, Reply, auth_json, container, error_json, find, set_csrf_cookie, until};
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// `GET /api/sessions` as the server would answer it for these session ids (the first
/// one is the current session).
fn sessions_json(ids: &[&str]) -> String {
    let rows: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            format!(
                r#"{{"id":"{id}","created_at":1,"last_used_at":2,"expires_at":3,"user_agent":"Browser {i}","ip":"127.0.0.1","current":{}}}"#,
                i == 0
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

#[wasm_bindgen_test]
async fn sign_out_everywhere_else_is_one_request_to_the_server_not_one_per_session() {
    let done = Rc::new(Cell::new(false));
    let flag = Rc::clone(&done);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/sessions" if flag.get() => Reply::Json(200, sessions_json(&["s1"])),
        "/api/sessions" => Reply::Json(200, sessions_json(&["s1", "s2", "s3"])),
        _ => {
            flag.set(true);
            Reply::Json(204, String::new())
        }
    });
    set_csrf_cookie("csrf-others");
    let root = container();
    let _mounted = mount_to(root.clone(), || view! { <SessionsPage/> });
    let button: HtmlButtonElement = find(&root, "#sign-out-others");
    assert!(until(|| !button.disabled()).await, "{}", root.inner_html());

    button.click();
    // The list is loaded again afterwards, and shows only this device.
    assert!(until(|| server.calls_to("/api/sessions").len() == 2).await);
    assert!(until(|| root.query_selector(".revoke").unwrap().is_none()).await);
    let calls = server.calls_to("/api/auth/logout-others");
    assert_eq!(calls.len(), 1, "{:?}", server.calls());
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].csrf.as_deref(), Some("csrf-others"));
    assert!(
        server.calls().iter().all(|c| c.method != "DELETE"),
        "{:?}",
        server.calls()
    );
}

#[wasm_bindgen_test]
async fn a_sign_out_the_server_could_not_record_still_signs_out_here_and_says_so() {
    for (reply, warned) in [
        (Reply::Json(503, error_json("database_unavailable")), true),
        (Reply::NetworkError, true),
        (Reply::Json(204, String::new()), false),
    ] {
        let mut reply = Some(reply);
        let server = FakeServer::install(move |call| match call.path.as_str() {
            "/api/auth/refresh" => Reply::Json(200, auth_json("user", 900)),
            _ => reply.take().unwrap_or(Reply::NetworkError),
        });
        set_csrf_cookie("csrf-out");
        let root = container();
        let session = Rc::new(Cell::new(None));
        let slot = Rc::clone(&session);
        let _mounted = mount_to(root.clone(), move || {
            slot.set(Some(Session::provide()));
            view! { <SignOutButton/> }
        });
        let session = session.get().unwrap();
        assert!(until(|| session.status.get_untracked() == Status::SignedIn).await);

        find::<HtmlElement>(&root, "#sign-out").click();
        assert!(until(|| session.status.get_untracked() == Status::SignedOut).await);
        assert_eq!(session.user.get_untracked(), None, "signed out here");
        assert_eq!(server.calls_to("/api/auth/logout").len(), 1);
        // The login page shows this notice, as it shows the expired-session one.
        let expected = warned.then_some(UNCONFIRMED_SIGN_OUT_NOTICE);
        assert_eq!(session.notice.get_untracked(), expected, "warned: {warned}");
        // Even offline, the next start of the app resumes nothing.
        assert_eq!(
            frontend::api::browser::csrf_token(),
            None,
            "warned: {warned}"
        );
    }
}
