# Shared by scripts/run and scripts/test: idempotent install steps (each skips what is
# already there) and the SPA build. Sourced, not run.

say() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_cargo() {
  # rustup's tools (and what `cargo install` adds) live here even when PATH lacks it.
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is required: install Rust with rustup (https://rustup.rs)" >&2
    exit 1
  fi
}

# `cargo install` for the tools the scripts use, built once per machine. Their own release
# profiles ask for full and link-time optimisation (trunk: fat LTO, one codegen unit):
# minutes of building for a speed these runs never notice. Level 1, no LTO, is plenty.
cargo_install_tool() {
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install "$@"
}

# Python tools the tests use as independent implementations: PyJWT checks our Ed25519
# tokens against the JWKS; schemathesis fuzzes the API against its OpenAPI document.
SCHEMATHESIS_VERSION=4.32.5
ensure_python_helpers() {
  python3 -c 'import jwt, cryptography' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check 'pyjwt[crypto]>=2.8,<3'
  python3 -m schemathesis.cli --version 2>/dev/null | grep -q " ${SCHEMATHESIS_VERSION}\$" ||
    python3 -m pip install --quiet --disable-pip-version-check "schemathesis==${SCHEMATHESIS_VERSION}"
}

ensure_wasm_target() {
  rustup target list --installed | grep -q '^wasm32-unknown-unknown$' ||
    rustup target add wasm32-unknown-unknown
}

# cargo-deny 0.20.2 (needs rustc >= 1.88; built and run here with 1.95), for the
# supply-chain checks of deny.toml.
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  if ! cargo deny --version 2>/dev/null | grep -q " ${CARGO_DENY_VERSION}\$"; then
    say "installing cargo-deny $CARGO_DENY_VERSION (a few minutes, once)"
    cargo_install_tool --locked cargo-deny --version "$CARGO_DENY_VERSION"
  fi
}

# cargo-deny over the workspace with deny.toml. Bans, licences and sources need nothing
# but the registry. Advisories need the RustSec database, a git repository on GitHub:
# fetched when it can be; else an earlier fetch on this machine is used, with its date;
# else the step says that advisories were not checked (the bans in deny.toml still refuse
# the crates of the advisories we know of).
supply_chain_checks() {
  ensure_cargo_deny
  cargo deny --locked check --hide-inclusion-graph bans licenses sources
  local db="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs" copy
  if timeout 60 cargo deny --locked fetch db; then
    cargo deny --locked check --disable-fetch advisories
  elif copy=$(compgen -G "$db/*/crates" | head -n 1) && [ -n "$copy" ]; then
    echo "the advisory database could not be fetched: checking against the copy of" \
      "$(git -C "$copy" log -1 --format=%cs 2>/dev/null || echo 'an unknown date')" >&2
    cargo deny --locked check --disable-fetch advisories
  else
    echo "ADVISORIES NOT CHECKED: the RustSec advisory database (a git repository on" \
      "GitHub) could not be fetched and no earlier copy is on this machine. Bans, licences" \
      "and sources were checked, and deny.toml's bans refuse the crates of the advisories" \
      "known to affect this tree (rsa: RUSTSEC-2023-0071)." >&2
  fi
}

# The version of a package in Cargo.lock.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# binaryen's wasm-opt, version 132, from the npm registry (a Node build: no compiling).
# Debian 12's binaryen 108 rewrites wasm-bindgen's externref table export to the wrong
# table, which breaks the optimised module at start-up. Installed under target/tools.
BINARYEN_VERSION=132
ensure_wasm_opt() {
  local bin="$PWD/target/tools/node_modules/.bin"
  if ! "$bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION}"; then
    if ! command -v npm >/dev/null 2>&1; then
      say "installing Node.js and npm (for binaryen's wasm-opt)"
      apt_install nodejs npm
    fi
    say "installing binaryen $BINARYEN_VERSION (wasm-opt)"
    npm install --no-audit --no-fund --silent --prefix target/tools "binaryen@${BINARYEN_VERSION}"
  fi
  export PATH="$bin:$PATH"
}

# trunk 0.21 (0.22 needs a newer rustc), wasm-bindgen-cli matching Cargo.lock exactly,
# and wasm-opt.
ensure_spa_toolchain() {
  ensure_wasm_target
  if ! trunk --version 2>/dev/null | grep -q '^trunk 0\.21\.'; then
    say "installing trunk 0.21 (takes a few minutes, once)"
    cargo_install_tool --locked trunk --version '~0.21'
  fi
  local bindgen
  bindgen=$(locked_version wasm-bindgen)
  if ! wasm-bindgen --version 2>/dev/null | grep -q " ${bindgen}\$"; then
    say "installing wasm-bindgen-cli $bindgen"
    cargo_install_tool --force wasm-bindgen-cli --version "$bindgen"
  fi
  ensure_wasm_opt
}

ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "installing Chromium and chromedriver"
    apt_install chromium chromium-driver
  fi
}

# The `brotli` command (Debian's package), for the SPA's precompressed copies.
ensure_brotli() {
  if ! command -v brotli >/dev/null 2>&1; then
    say "installing brotli"
    apt_install brotli
  fi
}

# Release build of the SPA into dist/, with Brotli (quality 11) and gzip (-9) copies that
# the backend serves to browsers that accept them.
build_spa() {
  ensure_spa_toolchain
  ensure_brotli
  say "building the SPA (trunk build --release)"
  trunk build --release
  local file
  for file in dist/*.wasm dist/*.js dist/*.css dist/*.html; do
    [ -e "$file" ] || continue
    gzip -9 -k -f "$file"
    brotli -q 11 -k -f "$file"
  done
}

# cargo-fuzz (pinned) and the nightly toolchain it builds with (sanitizers need nightly).
# rustup fetches a minimal nightly when none is installed; on a machine that cannot reach
# rustup's servers, install one beforehand (`rustup toolchain install nightly`).
CARGO_FUZZ_VERSION=0.13.1
ensure_cargo_fuzz() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    say "installing a minimal nightly toolchain (for cargo fuzz)"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q " ${CARGO_FUZZ_VERSION}\$"; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo_install_tool --locked --force cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
}
