//! The context of every request: its id and its log span, in one layer.
//!
//! - `x-request-id`: the caller's own id is kept (logs can then be followed across
//!   services) when it is short visible ASCII; otherwise a new random one is made. The
//!   answer carries it back.
//! - A span `request` with the method, the path (never the query: it can hold secrets)
//!   and the id, so every log line written while handling the request names it.
//! - When the answer is ready: a `debug` line with status and latency, or an `error`
//!   line for a 5xx.
//!
//! One layer instead of tower-http's three (set id, propagate id, trace): each of those
//! inserted into the request's headers or extensions of its own, which was a sixth of
//! what a whole request cost at the floor of the server.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::http::{HeaderName, HeaderValue, Request, Response};
use base64::Engine as _;
use tower::{Layer, Service};
use tracing::instrument::{Instrument, Instrumented};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Longest caller-supplied id kept; longer ones are replaced (they go into every log line).
const MAX_CALLER_ID_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContextLayer;

impl<S> Layer<S> for RequestContextLayer {
    type Service = RequestContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContext { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RequestContext<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestContext<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let request_id = match request.headers().get(REQUEST_ID) {
            Some(id) if acceptable_caller_id(id) => id.clone(),
            _ => {
                let id = new_request_id();
                request.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = %String::from_utf8_lossy(request_id.as_bytes()),
        );
        ResponseFuture {
            inner: self.inner.call(request).instrument(span),
            request_id: Some(request_id),
            started: Instant::now(),
        }
    }
}

/// Visible ASCII, not too long: safe to copy into logs and back into the answer.
fn acceptable_caller_id(id: &HeaderValue) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_CALLER_ID_BYTES
        && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// 96 random bits, URL-safe base64 (16 characters). Not secrets, so they come from the
/// thread's CSPRNG (seeded from the OS), not a system call per request; random rather
/// than a counter, which would tell anyone who sees two ids how busy the server is.
fn new_request_id() -> HeaderValue {
    let bytes: [u8; 12] = rand::random();
    let mut text = [0u8; 16];
    let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(bytes, &mut text)
        .expect("12 bytes are 16 base64 characters");
    HeaderValue::from_bytes(&text[..written]).expect("base64 is a valid header value")
}

pin_project_lite::pin_project! {
    /// The inner service's answer, with the request id added and the outcome logged.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        request_id: Option<HeaderValue>,
        started: Instant,
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = ready!(this.inner.as_mut().poll(cx))?;
        let span = this.inner.as_ref().get_ref().span();
        let status = response.status().as_u16();
        let latency_ms = this.started.elapsed().as_secs_f64() * 1000.0;
        if response.status().is_server_error() {
            tracing::error!(parent: span, status, latency_ms, "request failed");
        } else {
            tracing::debug!(parent: span, status, latency_ms, "request finished");
        }
        if let Some(id) = this.request_id.take() {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_sixteen_url_safe_characters_and_differ() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a
            .as_bytes()
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_'));
    }

    #[test]
    fn caller_ids_must_be_short_visible_ascii() {
        assert!(acceptable_caller_id(&HeaderValue::from_static(
            "caller-123"
        )));
        for bad in ["", "has space", "tab\there"] {
            assert!(
                !acceptable_caller_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_CALLER_ID_BYTES + 1);
        assert!(!acceptable_caller_id(
            &HeaderValue::from_str(&long).unwrap()
        ));
        let non_ascii = HeaderValue::from_bytes("é".as_bytes()).unwrap();
        assert!(!acceptable_caller_id(&non_ascii));
    }
}
