//! The API client's refresh logic, in a real browser, against a scripted `fetch`.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use frontend::api::{Api, ClientError, SessionEvent};
use futures::future::join_all;
use shared::ErrorCode;
use support::{
    FakeServer, Reply, auth_json, error_json, me_json, set_csrf_cookie, until_within, user_json,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A client of its own (no tab channel), recording the session events it emits.
fn client() -> (Api, Rc<RefCell<Vec<SessionEvent>>>) {
    let api = Api::new("", None);
    let events = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&events);
    api.on_session_event(move |event| sink.borrow_mut().push(event));
    (api, events)
}

#[wasm_bindgen_test]
async fn five_concurrent_401s_share_one_refresh() {
    let refreshed = Rc::new(Cell::new(false));
    let flag = Rc::clone(&refreshed);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => {
            flag.set(true);
            // Slow enough that all five 401s arrive while it is in flight.
            Reply::Later(50, 200, auth_json("user", 900))
        }
        "/api/me" if flag.get() => Reply::Json(200, me_json(true)),
        _ => Reply::Json(401, error_json("token_expired")),
    });
    set_csrf_cookie("csrf-1");
    let (api, events) = client();

    let results = join_all((0..5).map(|_| api.me())).await;
    for result in results {
        assert_eq!(result.unwrap().user.email, "ann@example.com");
    }
    assert!(refreshed.get());
    assert_eq!(
        server.calls_to("/api/auth/refresh").len(),
        1,
        "one shared refresh"
    );
    assert_eq!(
        server.calls_to("/api/me").len(),
        10,
        "each call retried once"
    );
    assert!(matches!(
        events.borrow().as_slice(),
        [SessionEvent::Refreshed(_)]
    ));
}

#[wasm_bindgen_test]
async fn a_call_is_retried_once_and_not_again() {
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth_json("user", 900)),
        _ => Reply::Json(401, error_json("invalid_token")),
    });
    set_csrf_cookie("csrf-2");
    let (api, _) = client();
    let error = api.me().await.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidToken));
    assert_eq!(server.calls_to("/api/me").len(), 2);
    assert_eq!(server.calls_to("/api/auth/refresh").len(), 1);
}

#[wasm_bindgen_test]
async fn a_failed_refresh_ends_the_session_without_a_retry_loop() {
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(401, error_json("invalid_refresh_token")),
        _ => Reply::Json(401, error_json("session_revoked")),
    });
    set_csrf_cookie("csrf-3");
    let (api, events) = client();
    let error = api.products().await.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidRefreshToken));
    assert_eq!(
        server.calls_to("/api/products").len(),
        1,
        "no retry after a failed refresh"
    );
    assert_eq!(server.calls_to("/api/auth/refresh").len(), 1);
    assert_eq!(events.borrow().as_slice(), [SessionEvent::Expired]);
}

#[wasm_bindgen_test]
async fn a_refresh_that_cannot_reach_the_server_keeps_the_session() {
    let _server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::NetworkError,
        _ => Reply::Json(401, error_json("token_expired")),
    });
    set_csrf_cookie("csrf-4");
    let (api, events) = client();
    assert_eq!(api.me().await.unwrap_err(), ClientError::Network);
    assert!(
        events.borrow().is_empty(),
        "offline is not a reason to sign out"
    );
}

#[wasm_bindgen_test]
async fn the_csrf_header_goes_on_post_and_delete_but_not_get() {
    let server = FakeServer::install(|call| match call.method.as_str() {
        "GET" => Reply::Json(200, me_json(true)),
        "POST" => Reply::Json(200, auth_json("user", 900)),
        _ => Reply::Json(204, String::new()),
    });
    set_csrf_cookie("the-csrf-token");
    let (api, _) = client();
    api.me().await.unwrap();
    api.refresh().await.unwrap();
    api.revoke_session("s2").await.unwrap();
    let calls = server.calls();
    let paths: Vec<_> = calls
        .iter()
        .map(|c| (c.method.as_str(), c.path.as_str()))
        .collect();
    assert_eq!(
        paths,
        [
            ("GET", "/api/me"),
            ("POST", "/api/auth/refresh"),
            ("DELETE", "/api/sessions/s2"),
        ]
    );
    let csrf = |method: &str| {
        calls
            .iter()
            .find(|c| c.method == method)
            .unwrap()
            .csrf
            .clone()
    };
    assert_eq!(csrf("GET"), None);
    assert_eq!(csrf("POST").as_deref(), Some("the-csrf-token"));
    assert_eq!(csrf("DELETE").as_deref(), Some("the-csrf-token"));
}

#[wasm_bindgen_test]
async fn each_typed_read_asks_its_own_path_and_decodes_the_answer() {
    let server = FakeServer::install(|call| {
        match call.path.as_str() {
        "/api/me" => Reply::Json(200, me_json(true)),
        "/api/products" => Reply::Json(200, r#"[{"id":1,"name":"Lamp","price_cents":1299}]"#.into()),
        "/api/sessions" => Reply::Json(
            200,
            r#"[{"id":"s1","created_at":1,"last_used_at":2,"expires_at":3,"user_agent":null,"ip":null,"current":true}]"#.into(),
        ),
        "/api/admin/users" => Reply::Json(
            200,
            format!("[{}]", user_json("admin", true)),
        ),
        _ => Reply::Json(404, error_json("not_found")),
    }
    });
    let (api, _) = client();
    assert_eq!(api.me().await.unwrap().user.email, "ann@example.com");
    assert_eq!(api.products().await.unwrap()[0].name, "Lamp");
    assert!(api.sessions().await.unwrap()[0].current);
    assert_eq!(
        api.admin_users().await.unwrap()[0].role,
        shared::Role::Admin
    );
    assert_eq!(server.calls().len(), 4, "{:?}", server.calls());
}

#[wasm_bindgen_test]
async fn html_garbage_and_silence_become_readable_errors() {
    let (api, _) = client();
    for (reply, expected) in [
        (Reply::Html(502), "unexpected answer (status 502)"),
        (
            Reply::Json(200, "not json at all".into()),
            "unexpected answer (status 200)",
        ),
        (
            Reply::Json(500, String::new()),
            "unexpected answer (status 500)",
        ),
        (Reply::NetworkError, "Cannot reach the server"),
    ] {
        let mut reply = Some(reply);
        let _server = FakeServer::install(move |_| reply.take().unwrap_or(Reply::NetworkError));
        let error = api.me().await.unwrap_err();
        assert!(error.message().contains(expected), "{}", error.message());
    }
}

#[wasm_bindgen_test]
async fn a_refresh_is_made_shortly_before_the_access_token_expires() {
    let refreshed_at = Rc::new(Cell::new(None));
    let stamp = Rc::clone(&refreshed_at);
    let server = FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/login" => Reply::Json(200, auth_json("user", 8)),
        _ => {
            stamp.set(Some(js_sys::Date::now()));
            Reply::Json(200, auth_json("user", 900))
        }
    });
    let (api, _) = client();
    let credentials = shared::Credentials {
        email: "ann@example.com".into(),
        password: "correct horse battery".into(),
    };
    let signed_in_at = js_sys::Date::now();
    api.login(&credentials).await.unwrap();
    assert!(server.calls_to("/api/auth/refresh").is_empty());
    assert!(until_within(10_000, || refreshed_at.get().is_some()).await);
    // An eight-second token is refreshed a quarter of its life early (after 6 s): on its
    // own, with no call and no 401 to prompt it, and before the token has expired (2 s of
    // slack for a loaded machine).
    let after_ms = refreshed_at.get().unwrap_or_default() - signed_in_at;
    assert!((5_900.0..8_000.0).contains(&after_ms), "{after_ms} ms");
    assert_eq!(
        server.calls().len(),
        2,
        "only the login and the refresh: {:?}",
        server.calls()
    );
}

#[wasm_bindgen_test]
fn the_proactive_refresh_comes_a_quarter_of_the_lifetime_early_at_most_a_minute() {
    let session = |lifetime: i64| shared::SessionView {
        id: "s".into(),
        access_expires_at: 5000 + lifetime,
        refresh_expires_at: 0,
        // The server's clock, not the browser's: a wrong client clock does not matter.
        server_time: 5000,
    };
    assert_eq!(frontend::api::proactive_delay_ms(&session(2)), 1_500);
    assert_eq!(frontend::api::proactive_delay_ms(&session(900)), 840_000);
    assert_eq!(frontend::api::proactive_delay_ms(&session(0)), 0);
}

/// A fake server whose first answer to `path` is 401 `token_expired` and later ones 204,
/// with a refresh that works.
fn expired_once_then_accepted(path: &'static str) -> FakeServer {
    let answered = Cell::new(false);
    FakeServer::install(move |call| match call.path.as_str() {
        "/api/auth/refresh" => Reply::Json(200, auth_json("user", 900)),
        p if p == path && !answered.replace(true) => Reply::Json(401, error_json("token_expired")),
        p if p == path => Reply::Json(204, String::new()),
        _ => Reply::NetworkError,
    })
}

#[wasm_bindgen_test]
async fn signing_out_everywhere_with_an_expired_access_token_refreshes_once_and_retries() {
    let server = expired_once_then_accepted("/api/auth/logout-all");
    set_csrf_cookie("csrf-all");
    let (api, events) = client();
    assert_eq!(api.logout_all().await, Ok(()));
    assert_eq!(server.calls_to("/api/auth/refresh").len(), 1);
    let calls = server.calls_to("/api/auth/logout-all");
    assert_eq!(calls.len(), 2, "the first try and one retry");
    assert!(calls.iter().all(|c| c.csrf.as_deref() == Some("csrf-all")));
    assert!(matches!(
        events.borrow().as_slice(),
        [SessionEvent::Refreshed(_), SessionEvent::SignedOut]
    ));
}

#[wasm_bindgen_test]
async fn signing_out_everywhere_else_with_an_expired_access_token_refreshes_once_and_retries() {
    let server = expired_once_then_accepted("/api/auth/logout-others");
    set_csrf_cookie("csrf-others");
    let (api, events) = client();
    assert_eq!(api.logout_others().await, Ok(()));
    assert_eq!(server.calls_to("/api/auth/refresh").len(), 1);
    let calls = server.calls_to("/api/auth/logout-others");
    assert_eq!(calls.len(), 2, "the first try and one retry");
    assert!(
        calls
            .iter()
            .all(|c| c.method == "POST" && c.csrf.as_deref() == Some("csrf-others"))
    );
    // This session goes on.
    assert!(matches!(
        events.borrow().as_slice(),
        [SessionEvent::Refreshed(_)]
    ));
}

#[wasm_bindgen_test]
async fn a_401_from_login_or_logout_is_their_answer_not_a_reason_to_refresh() {
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/login" => Reply::Json(401, error_json("invalid_credentials")),
        "/api/auth/logout" => Reply::Json(401, error_json("invalid_token")),
        _ => Reply::Json(200, auth_json("user", 900)),
    });
    set_csrf_cookie("csrf-5");
    let (api, _) = client();
    let credentials = shared::Credentials {
        email: "ann@example.com".into(),
        password: "wrong password".into(),
    };
    let error = api.login(&credentials).await.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidCredentials));
    assert!(api.logout().await.is_err());
    assert!(server.calls_to("/api/auth/refresh").is_empty());
    assert_eq!(server.calls().len(), 2, "one try each");
}

#[wasm_bindgen_test]
async fn a_401_that_is_not_about_the_access_token_is_answered_not_retried() {
    let server = FakeServer::install(|call| match call.path.as_str() {
        "/api/me" => Reply::Json(401, error_json("invalid_credentials")),
        _ => Reply::Json(200, auth_json("user", 900)),
    });
    set_csrf_cookie("csrf-6");
    let (api, _) = client();
    let error = api.me().await.unwrap_err();
    assert_eq!(error.code(), Some(ErrorCode::InvalidCredentials));
    assert!(server.calls_to("/api/auth/refresh").is_empty());
    assert_eq!(server.calls_to("/api/me").len(), 1, "asked once");
}

#[wasm_bindgen_test]
async fn the_other_tabs_hear_of_a_sign_in_a_refresh_and_a_sign_out() {
    let _server = FakeServer::install(|call| match call.path.as_str() {
        "/api/auth/logout" => Reply::Json(204, String::new()),
        _ => Reply::Json(200, auth_json("user", 900)),
    });
    let this_tab = Api::new("", Some("jwt-auth-test-tabs"));
    let other_tab = Api::new("", Some("jwt-auth-test-tabs"));
    let heard = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&heard);
    other_tab.on_session_event(move |event| sink.borrow_mut().push(event));
    let credentials = shared::Credentials {
        email: "ann@example.com".into(),
        password: "correct horse battery".into(),
    };

    let registered = this_tab.register(&credentials).await.unwrap();
    assert!(until_within(2_000, || heard.borrow().len() == 1).await);
    this_tab.refresh().await.unwrap();
    assert!(until_within(2_000, || heard.borrow().len() == 2).await);
    this_tab.logout().await.unwrap();
    assert!(until_within(2_000, || heard.borrow().len() == 3).await);

    let auth = other_tab.session();
    assert_eq!(auth, None, "signed out there too");
    match heard.borrow().as_slice() {
        [
            SessionEvent::SignedIn(signed_in),
            SessionEvent::Refreshed(refreshed),
            SessionEvent::SignedOut,
        ] => {
            assert_eq!(signed_in.user, registered.user);
            assert_eq!(Some(&signed_in.session), registered.session.as_ref());
            assert_eq!(refreshed.user.email, "ann@example.com");
        }
        other => panic!("{other:?}"),
    }
}
