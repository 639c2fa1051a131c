//! Request bodies as the server hands them to handlers, and what happens to the part
//! of a body a handler did not read (SPEC §8 "Connections").
//!
//! - A body must arrive within `http_body_timeout` of its request: a stalled upload
//!   fails with [`BodyTimeout`] (408) instead of holding a connection for minutes.
//! - An answer sent before the body was read (a 401 from the token check, a 413) used
//!   to leave the body unread: hyper then closed the connection after the answer,
//!   without saying so, and the client's next request on it was lost. Now, in this one
//!   place for every route, the rest of the body is drained (up to the 64 KiB cap,
//!   before the body's deadline) so the connection stays usable; when it cannot be, the
//!   answer says `Connection: close` and the client knows to open a new one.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Response};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::time::Sleep;

use super::server::Activity;
use super::MAX_BODY_BYTES;

/// The request body did not arrive within `http_body_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
pub struct BodyTimeout;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body with a deadline, which hands back what it did not read when dropped.
pub struct RequestBody<B> {
    inner: Option<B>,
    deadline: Instant,
    /// Created on the first wait only: most bodies arrive with their head.
    sleep: Option<Pin<Box<Sleep>>>,
    read: usize,
    /// `None` for a body that was empty from the start.
    progress: Option<Progress<B>>,
}

/// What is left of a body once its handler is done with it.
pub struct Progress<B>(Arc<Mutex<Slot<B>>>);

enum Slot<B> {
    /// The handler still holds the body.
    InUse,
    /// The body was read to its end.
    Finished,
    /// The handler dropped the body before its end.
    Left {
        body: B,
        read: usize,
        deadline: Instant,
    },
}

impl<B> Clone for Progress<B> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<B> Progress<B> {
    fn set(&self, slot: Slot<B>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = slot;
    }

    fn take(&self) -> Slot<B> {
        std::mem::replace(
            &mut *self.0.lock().unwrap_or_else(|e| e.into_inner()),
            Slot::Finished,
        )
    }
}

impl<B: HttpBody + Unpin> RequestBody<B> {
    pub fn new(inner: B, timeout: Duration) -> (Self, Option<Progress<B>>) {
        let progress =
            (!inner.is_end_stream()).then(|| Progress(Arc::new(Mutex::new(Slot::InUse))));
        let body = Self {
            inner: Some(inner),
            deadline: Instant::now() + timeout,
            sleep: None,
            read: 0,
            progress: progress.clone(),
        };
        (body, progress)
    }

    fn finished(&mut self) {
        if let Some(progress) = self.progress.take() {
            progress.set(Slot::Finished);
        }
    }
}

impl<B> HttpBody for RequestBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.finished();
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read += data.len();
                }
                if this.inner.as_ref().is_some_and(HttpBody::is_end_stream) {
                    this.finished();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                match sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimeout)))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl<B> Drop for RequestBody<B> {
    fn drop(&mut self) {
        if let (Some(progress), Some(body)) = (self.progress.take(), self.inner.take()) {
            progress.set(Slot::Left {
                body,
                read: self.read,
                deadline: self.deadline,
            });
        }
    }
}

/// Holds a request "in flight" for its connection until the answer is fully written.
pub struct ResponseGuard(Arc<Activity>);

impl ResponseGuard {
    pub fn new(activity: Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for ResponseGuard {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// The answer as it leaves: drains what the handler left of the body, or says
/// `Connection: close` when it cannot; the guard rides along with the body.
pub async fn finish<B>(
    response: Response<Body>,
    progress: Option<Progress<B>>,
    guard: ResponseGuard,
) -> Response<Body>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    let reusable = match progress.map(|p| p.take()) {
        None | Some(Slot::Finished) => true,
        // A handler (or a task it spawned) still holds the body: nothing to drain.
        Some(Slot::InUse) => false,
        Some(Slot::Left {
            body,
            read,
            deadline,
        }) => drain(body, read, deadline).await,
    };
    let (mut parts, body) = response.into_parts();
    if !reusable {
        parts
            .headers
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Response::from_parts(
        parts,
        Body::new(Guarded {
            body,
            _guard: guard,
        }),
    )
}

/// Reads and discards the rest of a body; `true` when it ended within the cap and time.
async fn drain<B>(mut body: B, mut read: usize, deadline: Instant) -> bool
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    if read.saturating_add(body.size_hint().lower() as usize) > MAX_BODY_BYTES {
        return false;
    }
    let rest = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                read += data.len();
                if read > MAX_BODY_BYTES {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout_at(deadline.into(), rest)
        .await
        .unwrap_or(false)
}

/// A response body that keeps its [`ResponseGuard`] until hyper drops it (written or abandoned).
struct Guarded {
    body: Body,
    _guard: ResponseGuard,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
