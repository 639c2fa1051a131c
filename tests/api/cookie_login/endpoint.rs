//! A site's verification endpoint for tests: answers what the test tells it to and
//! records every request (path, query, headers and the connection it came on).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use bytes::Bytes;
use serde_json::Value;
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub enum Answer {
    /// This status with this JSON body.
    Json(u16, Value),
    /// This status, content type and body (with a Content-Length).
    Raw(u16, &'static str, Vec<u8>),
    /// This JSON body sent in 8 KiB chunks, without a Content-Length.
    Streamed(Vec<u8>),
    /// 302 to this URL.
    Redirect(String),
    /// Waits this long, then answers.
    Delay(Duration, Box<Answer>),
    /// 200 with the user whose uid is the cookie (`…?sid=VALUE`): one user per browser.
    UserOfCookie,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub path_and_query: String,
    pub headers: HeaderMap,
    /// The client's address: one per connection.
    pub peer: SocketAddr,
}

struct Shared {
    answer: Mutex<Answer>,
    seen: Mutex<Vec<Seen>>,
}

pub struct Endpoint {
    pub base: String,
    shared: Arc<Shared>,
}

impl Endpoint {
    pub async fn start(answer: Answer) -> Endpoint {
        let shared = Arc::new(Shared {
            answer: Mutex::new(answer),
            seen: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind endpoint");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(handle).with_state(shared.clone());
        tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, app).await;
        });
        Endpoint { base, shared }
    }

    /// The endpoint URL a site configures, e.g. `url("/validate?sid=")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn answer(&self, answer: Answer) {
        *self.shared.answer.lock().unwrap() = answer;
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.seen.lock().unwrap().len()
    }

    /// Connections the requests came on.
    pub fn connections(&self) -> usize {
        let seen = self.shared.seen.lock().unwrap();
        let peers: std::collections::HashSet<SocketAddr> = seen.iter().map(|s| s.peer).collect();
        peers.len()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let cookie = request
        .uri()
        .query()
        .and_then(|q| q.split_once('=').map(|(_, v)| v.to_string()))
        .unwrap_or_default();
    shared.seen.lock().unwrap().push(Seen {
        path_and_query: request
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: request.headers().clone(),
        peer,
    });
    let answer = shared.answer.lock().unwrap().clone();
    respond(answer, &cookie).await
}

async fn respond(answer: Answer, cookie: &str) -> Response {
    let mut answer = answer;
    while let Answer::Delay(wait, then) = answer {
        tokio::time::sleep(wait).await;
        answer = *then;
    }
    match answer {
        Answer::Json(status, body) => (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        Answer::Raw(status, content_type, body) => (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response(),
        Answer::Streamed(body) => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = body
                .chunks(8192)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let stream = futures_util::stream::iter(chunks);
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Answer::Redirect(to) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Answer::UserOfCookie => (
            [(header::CONTENT_TYPE, "application/json")],
            super::answer(
                cookie,
                &format!("User {cookie}"),
                &format!("{cookie}@x.example"),
            )
            .to_string(),
        )
            .into_response(),
        Answer::Delay(..) => unreachable!("delays are unwrapped above"),
    }
}
