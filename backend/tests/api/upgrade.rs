//! Upgrading a database written by the previous version (times in whole seconds).

use std::borrow::Cow;
use std::path::Path;

use backend::auth::password::hash_blocking;
use backend::auth::refresh_token;
use backend::crypto::random_token;
use reqwest::StatusCode;
use shared::{AuthResponse, MeResponse};
use sqlx::migrate::Migrator;

use crate::helpers::*;

#[tokio::test]
async fn sessions_and_accounts_from_before_the_millisecond_migration_keep_working() {
    let db = TestDatabase::fresh_unmigrated().await;
    let url = if db.url().starts_with("sqlite") {
        format!("{}?mode=rwc", db.url())
    } else {
        db.url().to_owned()
    };
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    // The schema as the previous version left it: the first migration only.
    let mut first = Migrator::new(Path::new("migrations")).await.unwrap();
    first.migrations = Cow::Owned(first.migrations.iter().take(1).cloned().collect());
    first.run(&pool).await.unwrap();

    let now = backend::clock::system_now_ms() / 1000;
    let expires_at = now + 3_600;
    let token = random_token(32);
    let hash = hash_blocking(PASSWORD).unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, created_at) \
         VALUES ('u1', 'old@example.com', $1, 'user', $2)",
    )
    .bind(&hash)
    .bind(now - 60)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) \
         VALUES ('s1', 'u1', $1, $1, $2)",
    )
    .bind(now - 60)
    .bind(expires_at)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, 's1', $2)",
    )
    .bind(refresh_token::hash(&token))
    .bind(now - 60)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let app = spawn_app_on(db, &[], |_| {}).await;
    let browser = app.browser();
    browser.set_cookie("refresh_token", &token);
    browser.set_cookie("csrf_token", &random_token(32));
    let response = browser.refresh().await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: AuthResponse = response.json().await.unwrap();
    assert_eq!(body.session.id, "s1");
    assert_eq!(
        body.session.refresh_expires_at, expires_at,
        "the end is kept"
    );
    let me: MeResponse = browser.get("/api/me").await.json().await.unwrap();
    assert_eq!(me.user.created_at, now - 60);
    assert_eq!(
        app.browser()
            .login("old@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_empty_database_is_migrated_at_start() {
    let app = spawn_app_on(TestDatabase::fresh_unmigrated().await, &[], |_| {}).await;
    let response = app.browser().register("first@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}
