//! Signing and verifying access tokens, HS256 beside EdDSA, and a bare HMAC-SHA256 of the
//! same bytes as the floor a verification cannot beat. `cargo bench -p backend --bench
//! tokens`; the figures are in BENCHMARKS.md.

use std::hint::black_box;

use backend::auth::jwt::{JwtKeys, Key, KeySet};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use jsonwebtoken::Algorithm;
use shared::Role;

const SECRET: &[u8] = b"bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const NOW_MS: i64 = 1_800_000_000_000;

fn key(alg: Algorithm) -> Key {
    match alg {
        Algorithm::EdDSA => Key::ed25519("bench".into(), &[7; 32], 0).unwrap(),
        _ => Key::hs256("bench".into(), SECRET, 0),
    }
}

fn tokens(c: &mut Criterion) {
    for (name, alg) in [("HS256", Algorithm::HS256), ("EdDSA", Algorithm::EdDSA)] {
        let keys = JwtKeys::new(KeySet::new(vec![key(alg)]));
        let issue = || {
            keys.issue(
                "3f2a8c1e-9d4b-4e6f-8a7b-1c2d3e4f5a6b",
                "7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9",
                Role::User,
                NOW_MS,
                NOW_MS / 1000 + 900,
            )
            .unwrap()
        };
        let token = issue();
        assert!(keys.verify(&token, NOW_MS).is_ok());
        c.bench_function(&format!("{name} sign"), |b| b.iter(|| black_box(issue())));
        c.bench_function(&format!("{name} verify"), |b| {
            b.iter(|| keys.verify(black_box(&token), NOW_MS).unwrap());
        });
        if alg == Algorithm::HS256 {
            let (input, _) = token.rsplit_once('.').unwrap();
            c.bench_function("HMAC-SHA256 of the same bytes", |b| {
                b.iter(|| {
                    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET).unwrap();
                    mac.update(black_box(input.as_bytes()));
                    black_box(mac.finalize().into_bytes())
                });
            });
        }
    }
}

criterion_group!(benches, tokens);
criterion_main!(benches);
