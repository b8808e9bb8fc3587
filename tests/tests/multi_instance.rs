//! Two backend processes on one PostgreSQL database, as behind a load balancer: what one
//! instance does, the other honours.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use tempfile::TempDir;
use testkit::process::{backend_bin, backend_command};
use testkit::{BackendProcess, Browser, PASSWORD, TcpProxy, TestDatabase, error_code, eventually};

const SECRET: &str = "multi-instance-secret-0123456789-abcdefghijklmnop";
/// How soon a revocation on one instance must reach the other.
const PROPAGATION: Duration = Duration::from_secs(1);

async fn start(database_url: &str, cwd: &Path) -> BackendProcess {
    start_with(database_url, cwd, &[]).await
}

/// An instance with further environment variables.
async fn start_with(database_url: &str, cwd: &Path, env: &[(&str, &str)]) -> BackendProcess {
    let mut command = backend_command(&backend_bin(), cwd);
    command
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", SECRET)
        .env("STATIC_DIR", cwd);
    for (name, value) in env {
        command.env(name, value);
    }
    BackendProcess::launch(command).await
}

struct Cluster {
    a: BackendProcess,
    b: BackendProcess,
    db: TestDatabase,
    _cwd: TempDir,
}

async fn cluster() -> Cluster {
    let db = TestDatabase::postgres().await;
    let cwd = tempfile::tempdir().unwrap();
    let a = start(db.url(), cwd.path()).await;
    let b = start(db.url(), cwd.path()).await;
    Cluster {
        a,
        b,
        db,
        _cwd: cwd,
    }
}

async fn signed_in(instance: &BackendProcess, email: &str) -> Browser {
    let browser = Browser::new(instance.base_url());
    assert_eq!(
        browser.register(email, PASSWORD).await.status(),
        StatusCode::CREATED
    );
    browser
}

async fn status(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let code = if status.is_success() {
        String::new()
    } else {
        error_code(response).await
    };
    (status, code)
}

#[tokio::test]
async fn a_session_started_on_one_instance_works_and_ends_on_both() {
    let c = cluster().await;
    let on_a = signed_in(&c.a, "roam@example.com").await;
    let on_b = on_a.at(c.b.base_url());

    assert_eq!(on_b.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(on_b.refresh().await.status(), StatusCode::OK);
    assert_eq!(on_a.get("/api/me").await.status(), StatusCode::OK);

    let before_logout = on_a.fork();
    assert_eq!(
        on_a.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    let copy_on_b = before_logout.at(c.b.base_url());
    let refused = eventually(PROPAGATION, || async {
        copy_on_b.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(
        refused,
        "B still accepts the access token a second after logout on A"
    );
    assert_eq!(
        error_code(copy_on_b.get("/api/me").await).await,
        "session_revoked"
    );
    for copy in [
        before_logout.fork(),
        before_logout.fork().at(c.b.base_url()),
    ] {
        assert_eq!(
            error_code(copy.refresh().await).await,
            "invalid_refresh_token"
        );
    }
}

#[tokio::test]
async fn reuse_detected_on_one_instance_revokes_the_session_on_the_other() {
    let c = cluster().await;
    let user = signed_in(&c.a, "reuse@example.com").await;
    let stolen = user.fork().at(c.b.base_url());
    assert_eq!(user.refresh().await.status(), StatusCode::OK);
    assert_eq!(user.refresh().await.status(), StatusCode::OK);

    // Two rotations old: no grace applies, this is reuse.
    assert_eq!(
        error_code(stolen.refresh().await).await,
        "invalid_refresh_token"
    );
    let refused = eventually(PROPAGATION, || async {
        user.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(
        refused,
        "A still accepts the access token a second after reuse on B"
    );
    user.assert_session_revoked().await;
}

#[tokio::test]
async fn parallel_refreshes_over_two_instances_leave_one_usable_token() {
    let c = cluster().await;
    let user = signed_in(&c.a, "racer@example.com").await;
    let tabs: Vec<Browser> = (0..50)
        .map(|i| {
            let tab = user.fork();
            if i % 2 == 0 {
                tab
            } else {
                tab.at(c.b.base_url())
            }
        })
        .collect();
    let responses = join_all(tabs.iter().map(Browser::refresh)).await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut held: Vec<String> = tabs
        .iter()
        .map(|t| t.cookie("refresh_token").unwrap())
        .collect();
    held.sort();
    held.dedup();
    assert_eq!(
        held.len(),
        1,
        "every racer, on either instance, holds the same token"
    );
    let current =
        c.db.query_i64("SELECT COUNT(*) FROM refresh_tokens WHERE rotated_at IS NULL")
            .await;
    assert_eq!(current, 1);
    assert_eq!(tabs[1].get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn failed_logins_over_two_instances_share_one_limit() {
    let c = cluster().await;
    signed_in(&c.a, "shared-limit@example.com").await;
    let instances = [&c.a, &c.b];
    for i in 0..5 {
        let browser = Browser::new(instances[i % 2].base_url());
        let response = browser
            .login("shared-limit@example.com", "wrong password")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    for instance in instances {
        let response = Browser::new(instance.base_url())
            .login("shared-limit@example.com", PASSWORD)
            .await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(response.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn parallel_guesses_over_two_instances_get_at_most_five_answers() {
    let c = cluster().await;
    signed_in(&c.a, "burst@example.com").await;
    let browsers: Vec<Browser> = (0..64)
        .map(|i| Browser::new([&c.a, &c.b][i % 2].base_url()))
        .collect();
    let responses = join_all(
        browsers
            .iter()
            .map(|b| b.login("burst@example.com", "wrong password")),
    )
    .await;
    let answered = responses
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    for response in &responses {
        assert!(
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(&response.status()),
            "{}",
            response.status()
        );
    }
    eprintln!("64 parallel guesses over two instances: {answered} answered 401");
    assert!(answered <= 5, "{answered} guesses were checked");
}

#[tokio::test]
async fn instances_whose_clocks_differ_by_a_minute_still_agree() {
    let db = TestDatabase::postgres().await;
    let cwd = tempfile::tempdir().unwrap();
    let a = start(db.url(), cwd.path()).await;
    let b = start_with(db.url(), cwd.path(), &[("TEST_CLOCK_SKEW", "-60s")]).await;

    // A logout on either instance is refused on the other within a second.
    for (round, (here, there)) in [(&a, &b), (&b, &a)].into_iter().enumerate() {
        let user = signed_in(here, &format!("skew{round}@example.com")).await;
        let copy_there = user.fork().at(there.base_url());
        assert_eq!(copy_there.get("/api/me").await.status(), StatusCode::OK);
        assert_eq!(
            user.post("/api/auth/logout").await.status(),
            StatusCode::NO_CONTENT
        );
        let refused = eventually(PROPAGATION, || async {
            copy_there.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
        })
        .await;
        assert!(refused, "a logout on {} reached the other", here.base_url());
    }

    // Two tabs racing a refresh across the instances: a grace replay, not reuse.
    for (round, (first, second)) in [(&a, &b), (&b, &a)].into_iter().enumerate() {
        let tab = signed_in(first, &format!("tabs{round}@example.com")).await;
        let other_tab = tab.fork().at(second.base_url());
        assert_eq!(tab.refresh().await.status(), StatusCode::OK);
        assert_eq!(other_tab.refresh().await.status(), StatusCode::OK);
        assert_eq!(
            tab.cookie("refresh_token"),
            other_tab.cookie("refresh_token")
        );
        assert_eq!(tab.get("/api/me").await.status(), StatusCode::OK);
        assert_eq!(other_tab.get("/api/me").await.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn an_instance_cut_off_from_the_database_fails_clearly_and_catches_up() {
    let db = TestDatabase::postgres().await;
    let cwd = tempfile::tempdir().unwrap();
    let target = "127.0.0.1:5432".parse().unwrap();
    let proxy = TcpProxy::start(target).await;
    let a = start(db.url(), cwd.path()).await;
    let via_proxy = db.url_via(&proxy.host_port());
    let b = start_with(
        &via_proxy,
        cwd.path(),
        &[("REVOCATION_MAX_STALENESS", "2s")],
    )
    .await;
    // C chose to fail open.
    let c = start_with(&via_proxy, cwd.path(), &[("REVOCATION_MAX_STALENESS", "0")]).await;
    let on_a = signed_in(&a, "outage@example.com").await;
    let on_b = on_a.fork().at(b.base_url());
    let on_c = on_a.fork().at(c.base_url());
    assert_eq!(on_b.get("/api/me").await.status(), StatusCode::OK);

    proxy.cut();
    // Checking an access token needs no database, while the revoked set is recent.
    assert_eq!(on_b.get("/api/products").await.status(), StatusCode::OK);
    let started = Instant::now();
    assert_eq!(
        status(on_b.get("/api/me").await).await,
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable".into()
        )
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no hang: {:?}",
        started.elapsed()
    );
    assert_eq!(
        status(on_b.get("/api/ready").await).await,
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready".into())
    );
    // Once B's copy of the revoked sessions is older than its limit, it fails closed.
    let closed = eventually(Duration::from_secs(5), || async {
        on_b.get("/api/products").await.status() == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert!(closed, "B still trusts a stale revoked set");
    let refused = on_b.get("/api/products").await;
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(error_code(refused).await, "database_unavailable");
    assert_eq!(on_c.get("/api/products").await.status(), StatusCode::OK);

    // While B is cut off, A ends the session; B must learn of it once it is back.
    assert_eq!(
        on_a.post("/api/auth/logout").await.status(),
        StatusCode::NO_CONTENT
    );
    proxy.restore();
    let ready = eventually(Duration::from_secs(10), || async {
        on_b.get("/api/ready").await.status() == StatusCode::OK
    })
    .await;
    assert!(ready, "B recovers without a restart");
    let caught_up = eventually(PROPAGATION, || async {
        on_b.get("/api/products").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(caught_up, "B caught up on the revocation it missed");
    assert_eq!(
        error_code(on_b.get("/api/products").await).await,
        "session_revoked"
    );
}

#[tokio::test]
async fn a_reset_link_from_one_instance_works_on_the_other_and_ends_sessions_on_both() {
    let db = TestDatabase::postgres().await;
    let cwd = tempfile::tempdir().unwrap();
    let smtp = testkit::SmtpServer::start();
    let mail_url = smtp.mail_url();
    let env = [("MAIL_URL", mail_url.as_str())];
    let a = start_with(db.url(), cwd.path(), &env).await;
    let b = start_with(db.url(), cwd.path(), &env).await;
    let on_a = signed_in(&a, "twice@example.com").await;
    let on_b = Browser::new(b.base_url());
    assert_eq!(
        on_b.login("twice@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );

    let forgot = Browser::new(a.base_url())
        .post_json(
            "/api/auth/password/forgot",
            &serde_json::json!({ "email": "twice@example.com" }),
        )
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let sent = eventually(Duration::from_secs(10), || async {
        smtp.received()
            .iter()
            .any(|mail| mail.subject() == "Reset your password")
    })
    .await;
    assert!(sent, "the reset email arrives");
    let link = smtp
        .received()
        .into_iter()
        .find(|mail| mail.subject() == "Reset your password")
        .unwrap()
        .link("/reset-password#token=");
    let token = link.split_once("#token=").unwrap().1;

    // The link is used on B; A's session ends within the propagation time.
    let reset = Browser::new(b.base_url())
        .post_json(
            "/api/auth/password/reset",
            &serde_json::json!({ "token": token, "password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let (me_b, _) = status(on_b.get("/api/me").await).await;
    assert_eq!(
        me_b,
        StatusCode::UNAUTHORIZED,
        "at once on the instance that reset"
    );
    let ended_on_a = eventually(PROPAGATION, || async {
        on_a.get("/api/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(
        ended_on_a,
        "A still accepts the old session after the reset on B"
    );
    on_a.assert_session_revoked().await;
    let again = Browser::new(a.base_url())
        .post_json(
            "/api/auth/password/reset",
            &serde_json::json!({ "token": token, "password": "yet another passphrase" }),
        )
        .await;
    assert_eq!(error_code(again).await, "invalid_link");
}

/// The `kid` of the browser's access token.
fn access_kid(browser: &Browser) -> String {
    use base64::Engine;
    let token = browser.cookie("access_token").unwrap();
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn keys_rotated_twice_under_load_sign_nobody_out_and_the_old_key_retires() {
    let db = TestDatabase::postgres().await;
    let cwd = tempfile::tempdir().unwrap();
    let keys_env = [
        ("JWT_ALG", "EdDSA"),
        ("KEY_PUBLISH_DELAY", "2s"),
        ("ACCESS_TOKEN_TTL", "1s"),
    ];
    let a = start_with(db.url(), cwd.path(), &keys_env).await;
    let b = start_with(db.url(), cwd.path(), &keys_env).await;
    // An instance whose tokens live an hour: its token outlives the key that signed it.
    let long_lived = [("JWT_ALG", "EdDSA"), ("ACCESS_TOKEN_TTL", "1h")];
    let c = start_with(db.url(), cwd.path(), &long_lived).await;
    let holder = signed_in(&c, "holder@example.com").await;
    let old_kid = access_kid(&holder);
    let old_token = holder.cookie("access_token").unwrap();

    // Clients calling /api/me on both instances, refreshing when their token expires.
    let deadline = Instant::now() + Duration::from_secs(9);
    let clients = (0..8).map(|i| {
        let (a, b) = (a.base_url(), b.base_url());
        async move {
            let browser = Browser::new(&a);
            let email = format!("load{i}@example.com");
            assert_eq!(
                browser.register(&email, PASSWORD).await.status(),
                StatusCode::CREATED
            );
            let (mut unexpected, mut kids) = (Vec::new(), vec![access_kid(&browser)]);
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                let at = browser.at(if n % 2 == 0 { &a } else { &b });
                let (code, error) = status(at.get("/api/me").await).await;
                // An expired token (or its cookie, which lives as long) is refreshed, as the
                // SPA does; any other 401 is what must not happen.
                let expired = error == "token_expired" || error == "missing_token";
                if code == StatusCode::UNAUTHORIZED && expired {
                    let refreshed = at.refresh().await.status();
                    if refreshed != StatusCode::OK {
                        unexpected.push(format!("refresh {refreshed}"));
                    }
                    kids.push(access_kid(&at));
                    // The new token, at once on the other instance.
                    let other = browser.at(if n % 2 == 0 { &b } else { &a });
                    let (code, error) = status(other.get("/api/me").await).await;
                    if code != StatusCode::OK {
                        unexpected.push(format!("elsewhere {code} {error}"));
                    }
                } else if code != StatusCode::OK {
                    unexpected.push(format!("{code} {error}"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (unexpected, kids)
        }
    });
    let rotations = async {
        for _ in 0..2 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut command = backend_command(&backend_bin(), cwd.path());
            command
                .args(["keys", "rotate"])
                .env("DATABASE_URL", db.url())
                .env("JWT_SECRET", SECRET);
            for (name, value) in keys_env {
                command.env(name, value);
            }
            let output = tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap();
            assert!(output.status.success(), "{output:?}");
        }
    };
    let (results, ()) = tokio::join!(join_all(clients), rotations);
    let mut kids: Vec<String> = Vec::new();
    for (unexpected, seen) in results {
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
        kids.extend(seen);
    }
    kids.sort();
    kids.dedup();
    assert_eq!(
        kids.len(),
        3,
        "tokens were signed by the first key and both new ones"
    );

    // Still verifying while retiring (its tokens could be live), then refused.
    let check = |url: String| {
        let browser = Browser::new(url);
        browser.set_cookie("access_token", &old_token);
        browser
    };
    assert_eq!(
        check(a.base_url()).get("/api/me").await.status(),
        StatusCode::OK
    );
    let retired = eventually(Duration::from_secs(45), || async {
        let (code, error) = status(check(b.base_url()).get("/api/me").await).await;
        code == StatusCode::UNAUTHORIZED && error == "invalid_token"
    })
    .await;
    assert!(retired, "a token of the retired key {old_kid} is refused");
    let (code, error) = status(check(a.base_url()).get("/api/me").await).await;
    assert_eq!(
        (code, error.as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
}
