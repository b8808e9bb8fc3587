//! `X-Forwarded-For`: who the client is, behind which proxies.
//!
//! Input lines: the peer's address, the trusted proxies (comma-separated addresses or
//! CIDR ranges), then each further line one `X-Forwarded-For` header value, raw bytes.
//! An unparsable peer is `10.0.0.2`; unparsable proxies are skipped.
//!
//! Checked: nothing panics; the answer is the peer or an address one of the headers
//! named; from an untrusted peer it is the peer; the `ClientInfo` extractor, with the
//! server's own trusted proxies, agrees with `client_ip`.

#![no_main]

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, HeaderValue, Request};
use backend::auth::sessions::ClientInfo;
use backend::http::extract::client_ip;
use backend_fuzz::{app, block_on};
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let text = |line: Option<&[u8]>| String::from_utf8_lossy(line.unwrap_or_default()).into_owned();
    let peer: IpAddr = text(lines.next())
        .trim()
        .parse()
        .unwrap_or(IpAddr::from([10, 0, 0, 2]));
    let trusted: Vec<IpNet> = text(lines.next())
        .split(',')
        .filter_map(|net| {
            let net = net.trim();
            net.parse()
                .ok()
                .or_else(|| net.parse::<IpAddr>().ok().map(IpNet::from))
        })
        .collect();
    let mut headers = HeaderMap::new();
    let mut named = Vec::new();
    for line in lines {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            named
                .extend(line.split(|b| *b == b',').filter_map(|hop| {
                    std::str::from_utf8(hop).ok()?.trim().parse::<IpAddr>().ok()
                }));
            headers.append("x-forwarded-for", value);
        }
    }

    let client = client_ip(peer, &headers, &trusted);
    assert!(
        client == peer || named.contains(&client),
        "{client} came from nowhere"
    );
    if !trusted.iter().any(|net| net.contains(&peer)) {
        assert_eq!(client, peer, "an untrusted peer was believed");
    }

    let state = app();
    let expected = client_ip(peer, &headers, &state.config.trusted_proxies);
    let mut request = Request::new(());
    *request.headers_mut() = headers;
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(peer, 443)));
    let (mut parts, ()) = request.into_parts();
    let Ok(info) = block_on(ClientInfo::from_request_parts(&mut parts, state));
    assert_eq!(info.ip, expected.to_string());
});
