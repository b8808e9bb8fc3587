//! The OpenAPI document at `/api/openapi.json` against the real router: every documented
//! operation is routed, nothing else answers on a documented path, and every API path
//! that `shared::names` names is documented.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

/// The methods a route could have (HEAD and OPTIONS follow from these).
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every path in `shared::names::paths`, read from its source so that a new constant is
/// covered without a list to keep in step: `pub const NAME: &str = "/…";`, the prefixes
/// (which are not routes) aside.
fn named_paths() -> BTreeSet<String> {
    let source = include_str!("../../../shared/src/names.rs");
    let module = source
        .split("pub mod paths {")
        .nth(1)
        .and_then(|rest| rest.split("\npub mod ").next())
        .expect("names.rs has a paths module");
    module
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub const "))
        .filter(|line| !line.starts_with("API_PREFIX") && !line.starts_with("MFA_PREFIX"))
        .filter_map(|line| line.split('"').nth(1))
        .map(str::to_owned)
        .collect()
}

async fn document(app: &TestApp) -> Value {
    let response = app.browser().get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// `(path, method)` of every documented operation.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("a path item is an object");
            item.keys()
                .filter(|method| METHODS.contains(&method.as_str()))
                .map(move |method| (path.clone(), method.clone()))
        })
        .collect()
}

/// A documented path with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "no-such-id")
}

/// Whether the router had no such route: the JSON 404 of unknown `/api` paths, the 405
/// of a method it does not route, or the SPA's page.
async fn is_unrouted(response: reqwest::Response) -> bool {
    let status = response.status();
    let html = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("text/html"));
    let body: Value = response.json().await.unwrap_or_default();
    let not_found = status == StatusCode::NOT_FOUND && body["error"]["code"] == "not_found";
    html || status == StatusCode::METHOD_NOT_ALLOWED || not_found
}

#[tokio::test]
async fn the_document_is_served_as_uncached_json_of_openapi_3_1() {
    let app = spawn_app().await;
    let response = app.browser().get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"][shared::names::paths::OPENAPI]["get"].is_object());
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_no_other_method_is() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let operations = operations(&doc);
    assert!(operations.len() >= 30, "{operations:?}");
    let paths: BTreeSet<&String> = operations.iter().map(|(path, _)| path).collect();
    for path in paths {
        for method in METHODS {
            let documented = operations.iter().any(|(p, m)| p == path && m == method);
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let browser = app.browser();
            let response = browser.send(browser.request(verb, &concrete(path))).await;
            let status = response.status();
            let unrouted = is_unrouted(response).await;
            if documented {
                assert!(
                    !unrouted,
                    "{method} {path} is documented but not routed ({status})"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_path_that_shared_names_is_documented_and_no_other() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let named = named_paths();
    assert!(named.len() >= 30, "{named:?}");
    let undocumented: Vec<&String> = named.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    let unnamed: Vec<&String> = documented.difference(&named).collect();
    assert!(
        unnamed.is_empty(),
        "documented paths that shared does not name: {unnamed:?}"
    );
}

#[tokio::test]
async fn operations_that_need_an_access_token_document_its_401_codes_and_schemes_exist() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut protected = 0;
    for (path, method) in operations(&doc) {
        let operation = &doc["paths"][&path][&method];
        let requirements = operation["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for requirement in &requirements {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    schemes.contains_key(scheme),
                    "{method} {path}: no scheme {scheme}"
                );
            }
        }
        let needs_access = !requirements.is_empty()
            && requirements
                .iter()
                .all(|r| r.get("access_cookie").is_some() || r.get("bearer").is_some());
        if !needs_access {
            continue;
        }
        protected += 1;
        let codes = &operation["responses"]["401"]["content"]["application/json"]["schema"]["properties"]
            ["error"]["properties"]["code"]["enum"];
        for code in [
            "missing_token",
            "token_expired",
            "invalid_token",
            "session_revoked",
        ] {
            assert!(
                codes
                    .as_array()
                    .is_some_and(|c| c.contains(&Value::from(code))),
                "{method} {path} does not list {code}"
            );
        }
        let headers = &operation["responses"]["401"]["headers"];
        assert!(headers["WWW-Authenticate"].is_object() || headers["www-authenticate"].is_object());
    }
    assert!(protected >= 15, "{protected}");
}

#[tokio::test]
async fn the_document_names_the_cookies_as_the_deployment_does() {
    let app = spawn_app_with(&["--cookie-secure", "true"], |_| {}).await;
    let doc = document(&app).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["access_cookie"]["name"], "__Secure-access_token");
    assert_eq!(schemes["refresh_cookie"]["name"], "__Secure-refresh_token");
    assert_eq!(schemes["csrf_header"]["name"], "x-csrf-token");

    let plain = spawn_app().await;
    let doc = document(&plain).await;
    assert_eq!(
        doc["components"]["securitySchemes"]["access_cookie"]["name"],
        "access_token"
    );
}
