//! One browser profile: keeps cookies as a browser does (a real cookie store: `Path`,
//! `Max-Age`, `Expires` and clearing honoured) and echoes the CSRF cookie in
//! `X-CSRF-Token` on unsafe methods, as the SPA does.

use std::sync::{Arc, Mutex};

use cookie_store::{CookieStore, RawCookie};
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use shared::names::{CSRF_HEADER, cookies, paths};

use crate::error_code;

/// A cookie-keeping client for one origin.
#[derive(Clone)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    jar: Arc<Mutex<CookieStore>>,
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
        match self.cookie(cookies::CSRF) {
            Some(csrf) if unsafe_method => builder.header(CSRF_HEADER, csrf),
            _ => builder,
        }
    }

    /// A request with this profile's cookies only (what a forged cross-site request has).
    pub fn request_without_csrf(&self, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}{path}", self.base);
        let cookies = self.cookie_header(&url);
        let builder = self.http.request(method, url);
        if cookies.is_empty() {
            builder
        } else {
            builder.header("cookie", cookies)
        }
    }

    /// Sends, then stores the cookies the response sets or clears.
    pub async fn send(&self, builder: RequestBuilder) -> Response {
        let response = builder.send().await.expect("request failed");
        self.store_cookies(response.url(), response.headers());
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
            paths::REGISTER,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(paths::LOGIN, &json!({"email": email, "password": password}))
            .await
    }

    /// `POST /api/auth/refresh`.
    pub async fn refresh(&self) -> Response {
        self.post(paths::REFRESH).await
    }

    /// A cookie's current value (whatever its path).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .lock()
            .unwrap()
            .iter_unexpired()
            .find(|cookie| cookie.name() == name)
            .map(|cookie| cookie.value().to_owned())
    }

    /// Sets or replaces a cookie by hand (a forged or stale value), at the path it has, or
    /// at `/` for a cookie the profile does not hold.
    pub fn set_cookie(&self, name: &str, value: &str) {
        let mut jar = self.jar.lock().unwrap();
        let path = jar
            .iter_unexpired()
            .find(|cookie| cookie.name() == name)
            .and_then(|cookie| cookie.path().map(str::to_owned))
            .unwrap_or_else(|| "/".to_owned());
        let cookie = RawCookie::build((name.to_owned(), value.to_owned()))
            .path(path)
            .build();
        let url = self.base.parse().expect("the base is a URL");
        jar.insert_raw(&cookie, &url)
            .expect("a cookie for this origin");
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
        let me = self.get(paths::ME).await;
        assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(me).await, "session_revoked");
        let refresh = self.refresh().await;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(refresh).await, "invalid_refresh_token");
    }

    fn cookie_header(&self, url: &str) -> String {
        let url = url.parse().expect("a request URL");
        self.jar
            .lock()
            .unwrap()
            .get_request_values(&url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn store_cookies(&self, url: &url::Url, headers: &HeaderMap) {
        let cookies: Vec<RawCookie<'static>> = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|line| RawCookie::parse(line.to_owned()).ok())
            .collect();
        self.jar
            .lock()
            .unwrap()
            .store_response_cookies(cookies.into_iter(), url);
    }
}
