//! One browser profile: keeps cookies and echoes the CSRF cookie in `X-CSRF-Token` on
//! unsafe methods, as the SPA does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::error_code;

/// A cookie-keeping client for one origin.
#[derive(Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    jar: Arc<Mutex<HashMap<String, String>>>,
}

impl Browser {
    /// A profile with no cookies, talking to `base` (`http://host:port`).
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            http: reqwest::Client::new(),
            jar: Arc::default(),
        }
    }

    /// The same cookies, sent to another origin (another instance behind one site).
    pub fn at(&self, base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            http: self.http.clone(),
            jar: Arc::clone(&self.jar),
        }
    }

    /// A request with this profile's cookies and, on unsafe methods, the CSRF header.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let unsafe_method = !matches!(method, Method::GET | Method::HEAD);
        let builder = self.request_without_csrf(method, path);
        match self.cookie("csrf_token") {
            Some(csrf) if unsafe_method => builder.header("x-csrf-token", csrf),
            _ => builder,
        }
    }

    /// A request with this profile's cookies only (what a forged cross-site request has).
    pub fn request_without_csrf(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        let cookies = self.cookie_header();
        if cookies.is_empty() {
            builder
        } else {
            builder.header("cookie", cookies)
        }
    }

    /// Sends, then stores the cookies the response sets or clears.
    pub async fn send(&self, builder: RequestBuilder) -> Response {
        let response = builder.send().await.expect("request failed");
        self.store_cookies(response.headers());
        response
    }

    /// `GET`.
    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST` without a body.
    pub async fn post(&self, path: &str) -> Response {
        self.send(self.request(Method::POST, path)).await
    }

    /// `DELETE`.
    pub async fn delete(&self, path: &str) -> Response {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// `POST` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `POST /api/auth/register`.
    pub async fn register(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/register",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /api/auth/refresh`.
    pub async fn refresh(&self) -> Response {
        self.post("/api/auth/refresh").await
    }

    /// A cookie's current value.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    /// Sets or replaces a cookie by hand (a forged or stale value).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    /// A second profile holding a copy of this one's cookies (another tab, or a thief).
    pub fn fork(&self) -> Self {
        Self {
            base: self.base.clone(),
            http: self.http.clone(),
            jar: Arc::new(Mutex::new(self.jar.lock().unwrap().clone())),
        }
    }

    /// Asserts that this profile's session is over: its access token is refused as
    /// revoked and its refresh token no longer works.
    pub async fn assert_session_revoked(&self) {
        let me = self.get("/api/me").await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(me).await, "session_revoked");
        let refresh = self.refresh().await;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(refresh).await, "invalid_refresh_token");
    }

    fn cookie_header(&self) -> String {
        self.jar
            .lock()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store_cookies(&self, headers: &HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for line in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}
