//! The HTTP client of one virtual client: a keep-alive HTTP/1 connection (hyper's
//! low-level `conn` API, no pool, no TLS, so the generator spends little CPU), opened again
//! when the server closed it; and the cookies it holds.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use shared::ErrorBody;
use tokio::net::TcpStream;

/// How long a client waits after a failed connect before it reports the failure.
const RECONNECT_DELAY: Duration = Duration::from_millis(10);

/// A request body.
pub type Body = Full<Bytes>;

/// Why a request did not get the answer it should have: the request line and what went
/// wrong (a status and error code, or an I/O error). Failures are counted by this text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure(String);

impl Failure {
    /// A failure described by `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// The method and path of a request, to describe its failure (cheap to keep: the path
/// of a static URI is not copied).
#[derive(Debug, Clone)]
struct RequestLine(Method, Uri);

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.1.path())
    }
}

/// An answer, its body read whole.
#[derive(Debug)]
pub struct Reply {
    /// The request it answers.
    request: RequestLine,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The reply itself when its status is `expected`; else a failure naming the status
    /// and the API's error code.
    pub fn expect(self, expected: StatusCode) -> Result<Self, Failure> {
        if self.status == expected {
            return Ok(self);
        }
        Err(Failure(self.describe()))
    }

    /// The API's error code in the body, if it is an error body.
    pub fn error_code(&self) -> Option<&'static str> {
        serde_json::from_slice::<ErrorBody>(&self.body)
            .ok()
            .map(|body| body.error.code.as_str())
    }

    /// A failure naming the request, the status and the error code, and `why`.
    pub fn failure(&self, why: &str) -> Failure {
        Failure(format!("{} {why}", self.describe()))
    }

    /// `METHOD path: status code`.
    fn describe(&self) -> String {
        let code = self
            .error_code()
            .map(|code| format!(" {code}"))
            .unwrap_or_default();
        format!("{}: {}{code}", self.request, self.status)
    }
}

/// A `method path` request with an empty body.
pub fn request(method: Method, path: &'static str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(Uri::from_static(path))
}

/// A `POST path` request with a JSON body.
pub fn post_json(path: &'static str, body: &impl serde::Serialize) -> Request<Body> {
    let json = serde_json::to_vec(body).unwrap_or_default();
    let mut request = Request::new(Full::new(Bytes::from(json)));
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static(path);
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    request
}

/// One keep-alive connection to the server, opened on first use and again whenever the
/// server has closed it.
pub struct Connection {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Body>>,
}

impl Connection {
    /// A connection to `addr`, not yet open.
    pub fn new(addr: SocketAddr) -> Self {
        let host = HeaderValue::from_str(&addr.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        Self {
            addr,
            host,
            sender: None,
        }
    }

    /// Sends `request` and reads the whole answer. An I/O error closes the connection
    /// (the next request opens a new one) and is returned as a failure; the request is
    /// never sent twice.
    pub async fn send(&mut self, mut request: Request<Body>) -> Result<Reply, Failure> {
        let line = RequestLine(request.method().clone(), request.uri().clone());
        request
            .headers_mut()
            .entry(header::HOST)
            .or_insert_with(|| self.host.clone());
        let kept = match self.sender.take() {
            Some(mut kept) => kept.ready().await.is_ok().then_some(kept),
            None => None,
        };
        let mut sender = match kept {
            Some(kept) => kept,
            None => match self.open().await {
                Ok(opened) => opened,
                Err(error) => {
                    // A server that has gone is not hammered in a tight loop.
                    tokio::time::sleep(RECONNECT_DELAY).await;
                    return Err(Failure(format!("{line}: cannot connect: {error}")));
                }
            },
        };
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| Failure(format!("{line}: {e}")))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| Failure(format!("{line}: reading the body: {e}")))?
            .to_bytes();
        self.sender = Some(sender);
        Ok(Reply {
            request: line,
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn open(&self) -> std::io::Result<SendRequest<Body>> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        // Ends when the sender is dropped or the server closes the connection.
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// The cookies a virtual client holds, by name (the paths are the API's own: each
/// request says which cookies it sends).
#[derive(Debug, Clone, Default)]
pub struct Cookies(BTreeMap<String, String>);

impl Cookies {
    /// Takes in the `Set-Cookie` headers of an answer: new values replace old ones, and a
    /// cookie cleared with `Max-Age=0` is forgotten.
    pub fn absorb(&mut self, headers: &HeaderMap) {
        let set = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|value| cookie::Cookie::parse(value).ok());
        for cookie in set {
            if cookie.max_age().is_some_and(|age| age.is_zero()) {
                self.0.remove(cookie.name());
            } else {
                self.0
                    .insert(cookie.name().to_owned(), cookie.value().to_owned());
            }
        }
    }

    /// Sets one cookie, as a client that kept an older value would send it.
    pub fn insert(&mut self, name: &str, value: &str) {
        self.0.insert(name.to_owned(), value.to_owned());
    }

    /// The value of one cookie.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A `Cookie` header with the named cookies that are held.
    pub fn header(&self, names: &[&str]) -> Result<HeaderValue, Failure> {
        let pairs: Vec<String> = names
            .iter()
            .filter_map(|name| self.get(name).map(|value| format!("{name}={value}")))
            .collect();
        HeaderValue::from_str(&pairs.join("; "))
            .map_err(|_| Failure::new("a cookie value is not a valid header"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::SET_COOKIE, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn set_cookie_replaces_and_max_age_zero_forgets() {
        let mut cookies = Cookies::default();
        cookies.absorb(&set_cookies(&[
            "refresh_token=r0; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=600",
            "csrf_token=c; SameSite=Strict; Path=/",
            "access_token=a0; HttpOnly; Path=/api; Max-Age=900",
        ]));
        cookies.absorb(&set_cookies(&[
            "refresh_token=r1; HttpOnly; Path=/api/auth; Max-Age=599",
            "access_token=; Path=/api; Max-Age=0",
        ]));
        assert_eq!(cookies.get("refresh_token"), Some("r1"));
        assert_eq!(cookies.get("access_token"), None);
        assert_eq!(
            cookies.header(&["refresh_token", "csrf_token"]).unwrap(),
            "refresh_token=r1; csrf_token=c"
        );
    }

    #[test]
    fn an_unexpected_status_names_the_request_and_the_error_code() {
        let reply = Reply {
            request: RequestLine(Method::POST, Uri::from_static("/api/auth/refresh")),
            status: StatusCode::UNAUTHORIZED,
            headers: HeaderMap::new(),
            body: Bytes::from_static(
                br#"{"error":{"code":"invalid_refresh_token","message":"x"}}"#,
            ),
        };
        assert_eq!(
            reply.expect(StatusCode::OK).unwrap_err().to_string(),
            "POST /api/auth/refresh: 401 Unauthorized invalid_refresh_token"
        );
    }
}
