//! The verifier's tests: the token rules and the JWKS cache against a JWKS server the
//! tests script, the axum extractor in a real server, and the real backend's tokens,
//! forgeries and key rotation.

mod cache;
mod extractor;
mod live;
mod rules;
mod support;
