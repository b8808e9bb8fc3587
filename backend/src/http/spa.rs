//! The built single-page app, served from `STATIC_DIR` on the API's origin.

use std::path::Path;

use axum::http::{HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

type StaticService =
    BoxCloneSyncService<axum::extract::Request, axum::response::Response, std::convert::Infallible>;

/// Files from `dir` (precompressed `.br`/`.gz` variants preferred), `index.html` for any
/// other path so that client-side routes load the app, all with a strict CSP.
///
/// Each path has a body per `Accept-Encoding`, so every answer carries
/// `Vary: accept-encoding`: a shared cache must not give a browser that takes only gzip the
/// Brotli bytes it stored for another.
pub fn service(dir: &Path) -> StaticService {
    let index = dir.join("index.html");
    let csp = content_security_policy(&std::fs::read_to_string(&index).unwrap_or_default());
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    let service = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .map_response(axum::response::IntoResponse::into_response)
        .service(files);
    BoxCloneSyncService::new(service)
}

/// Scripts, WASM and styles from this origin only, nothing may frame the app, and the
/// inline scripts of `index.html` (trunk's loader) allowed by their exact hash.
pub fn content_security_policy(index_html: &str) -> String {
    let hashes: String = inline_scripts(index_html)
        .map(|script| {
            format!(
                " 'sha256-{}'",
                STANDARD.encode(Sha256::digest(script.as_bytes()))
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The text of every `<script>` element without a `src`, exactly as the browser hashes it.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, body) = rest.split_once('>')?;
        let (text, _) = body.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_allowed_by_hash_and_external_ones_are_not_listed() {
        let html = "<head><script type=\"module\">init()</script>\
                    <script src=\"/app.js\"></script></head>";
        let csp = content_security_policy(html);
        let expected = STANDARD.encode(Sha256::digest(b"init()"));
        assert!(csp.contains(&format!("'sha256-{expected}'")), "{csp}");
        assert_eq!(csp.matches("sha256-").count(), 1);
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn without_an_index_only_self_is_allowed() {
        let csp = content_security_policy("");
        assert!(csp.starts_with("default-src 'self'; script-src 'self' 'wasm-unsafe-eval';"));
    }
}
