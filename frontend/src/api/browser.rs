//! The few browser APIs the client needs that have no stable binding in `web-sys`.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::channel::oneshot;
use js_sys::{Promise, Reflect};
use shared::names::cookies::{CSRF, SECURE_PREFIX};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks.request(name, callback)`: the Web Locks API. `web-sys` has it only
    /// behind `--cfg=web_sys_unstable_apis`, which every build would have to set.
    #[wasm_bindgen(js_namespace = ["navigator", "locks"], js_name = request, catch)]
    fn request_lock(
        name: &str,
        callback: &Closure<dyn FnMut(JsValue) -> Promise>,
    ) -> Result<Promise, JsValue>;
}

/// Whether this browser (and this context: Web Locks needs a secure one) has Web Locks.
fn has_web_locks() -> bool {
    web_sys::window()
        .map(|w| w.navigator())
        .and_then(|n| Reflect::get(&n, &JsValue::from_str("locks")).ok())
        .is_some_and(|locks| !locks.is_undefined() && !locks.is_null())
}

/// Runs `work` while holding the browser-wide lock `name`, so that tabs of one browser
/// take turns. Without Web Locks (or if the request is refused) it simply runs `work`.
pub async fn with_lock<F: Future + 'static>(name: &str, work: F) -> F::Output {
    if !has_web_locks() {
        return work.await;
    }
    let (sender, receiver) = oneshot::channel();
    let slot = Rc::new(RefCell::new(Some((work, sender))));
    let in_lock = Rc::clone(&slot);
    let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
        match in_lock.borrow_mut().take() {
            // The lock is held until this promise settles.
            Some((work, sender)) => future_to_promise(async move {
                let _ = sender.send(work.await);
                Ok(JsValue::UNDEFINED)
            }),
            None => Promise::resolve(&JsValue::UNDEFINED),
        }
    });
    if let Ok(promise) = request_lock(name, &callback) {
        let _ = JsFuture::from(promise).await;
    }
    drop(callback);
    let never_granted = slot.borrow_mut().take();
    if let Some((work, _)) = never_granted {
        return work.await;
    }
    // The callback ran `work` to completion and sent its output before the lock's
    // promise settled; only a panic inside `work` (which aborts the module) could skip it.
    receiver.await.expect("the locked work sent its result")
}

/// The CSRF token the server set (its name prefixed with `__Secure-` on HTTPS deployments),
/// read by the server's own rule ([`shared::cookies`]: the last of a name winning), so the
/// header echoes the very cookie the server compares it with.
pub fn csrf_token() -> Option<String> {
    let document = web_sys::window()?.document()?;
    let cookies = document
        .dyn_into::<web_sys::HtmlDocument>()
        .ok()?
        .cookie()
        .ok()?;
    shared::cookies::secure_first(&[cookies.as_bytes()], CSRF).map(str::to_owned)
}

/// Forgets the CSRF cookie here (both names), so that this browser resumes no session at
/// its next start even when the server could not clear its own cookies (offline).
pub fn forget_csrf_token() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(document) = document.dyn_into::<web_sys::HtmlDocument>() else {
        return;
    };
    for cookie in [
        format!("{CSRF}=; Max-Age=0; Path=/"),
        format!("{SECURE_PREFIX}{CSRF}=; Max-Age=0; Path=/; Secure"),
    ] {
        let _ = document.set_cookie(&cookie);
    }
}

/// NFKC normalisation by the browser (`String.prototype.normalize`).
pub fn nfkc(text: &str) -> String {
    String::from(js_sys::JsString::from(text).normalize("NFKC"))
}

/// Unicode lower-casing by the browser (`String.prototype.toLowerCase`).
pub fn lowercase(text: &str) -> String {
    String::from(js_sys::JsString::from(text).to_lower_case())
}
