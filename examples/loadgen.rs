//! A small closed-loop HTTP/1.1 load generator for Tessera's benchmarks.
//!
//! Each of `--connections` tasks keeps one keep-alive connection and sends the
//! same request back to back for `--duration`; the report gives requests/s, the
//! status codes seen and latency percentiles. Run it as a separate process from
//! the server (release builds of both):
//!
//! ```sh
//! cargo run --release --example loadgen -- --url http://127.0.0.1:8080/oauth2/token \
//!     --method POST --basic 1:tsk_… --form 'grant_type=client_credentials' \
//!     --connections 32 --duration 10s
//! ```
//! `--json` prints one JSON object instead of text (for scripts). A `{n}` in the
//! body becomes a number unique to each request (e.g. one cookie per browser).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

struct Options {
    url: url::Url,
    method: hyper::Method,
    headers: Vec<(String, String)>,
    body: Bytes,
    /// The body around its `{n}`, when it has one.
    numbered: Option<(String, String)>,
    connections: usize,
    duration: Duration,
    json: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen --url URL [--method M] [--header 'K: V']... [--basic USER:PASS] \
         [--bearer TOKEN] [--form BODY | --json-body BODY] [--connections N] [--duration 10s] [--json]"
    );
    std::process::exit(2)
}

fn parse_args() -> Options {
    let mut args = std::env::args().skip(1);
    let mut url = None;
    let mut method = hyper::Method::GET;
    let mut headers = Vec::new();
    let mut body = Bytes::new();
    let mut connections = 32;
    let mut duration = Duration::from_secs(10);
    let mut json = false;
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--url" => url = Some(url::Url::parse(&value()).unwrap_or_else(|_| usage())),
            "--method" => method = value().parse().unwrap_or_else(|_| usage()),
            "--header" => {
                let v = value();
                let (k, v) = v.split_once(':').unwrap_or_else(|| usage());
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "--basic" => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(value());
                headers.push(("authorization".into(), format!("Basic {encoded}")));
            }
            "--bearer" => headers.push(("authorization".into(), format!("Bearer {}", value()))),
            "--form" => {
                body = Bytes::from(value());
                headers.push((
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            "--json-body" => {
                body = Bytes::from(value());
                headers.push(("content-type".into(), "application/json".into()));
            }
            "--connections" => connections = value().parse().unwrap_or_else(|_| usage()),
            "--duration" => {
                duration = humantime::parse_duration(&value()).unwrap_or_else(|_| usage())
            }
            "--json" => json = true,
            _ => usage(),
        }
    }
    let numbered = std::str::from_utf8(&body)
        .ok()
        .and_then(|b| b.split_once("{n}"))
        .map(|(before, after)| (before.to_string(), after.to_string()));
    Options {
        url: url.unwrap_or_else(|| usage()),
        method,
        headers,
        body,
        numbered,
        connections,
        duration,
        json,
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn body(options: &Options) -> Bytes {
    match &options.numbered {
        Some((before, after)) => {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            Bytes::from(format!("{before}{n}{after}"))
        }
        None => options.body.clone(),
    }
}

async fn connection_loop(options: std::sync::Arc<Options>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let host = options.url.host_str().unwrap_or("127.0.0.1").to_string();
    let port = options.url.port_or_known_default().unwrap_or(80);
    let path = match options.url.query() {
        Some(q) => format!("{}?{q}", options.url.path()),
        None => options.url.path().to_string(),
    };
    'reconnect: while Instant::now() < deadline {
        let Ok(stream) = tokio::net::TcpStream::connect((host.as_str(), port)).await else {
            tally.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let Ok((mut sender, conn)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            tally.errors += 1;
            continue;
        };
        tokio::spawn(conn);
        while Instant::now() < deadline {
            let mut request = Request::builder()
                .method(options.method.clone())
                .uri(&path)
                .header("host", format!("{host}:{port}"));
            for (k, v) in &options.headers {
                request = request.header(k, v);
            }
            let request = request.body(Full::new(body(&options))).expect("request");
            let started = Instant::now();
            let response = match sender.send_request(request).await {
                Ok(r) => r,
                Err(_) => {
                    tally.errors += 1;
                    continue 'reconnect;
                }
            };
            let status = response.status().as_u16();
            if response.into_body().collect().await.is_err() {
                tally.errors += 1;
                continue 'reconnect;
            }
            let elapsed = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
            tally.latencies_us.push(elapsed);
            *tally.statuses.entry(status).or_default() += 1;
        }
    }
    tally
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)] as f64 / 1000.0
}

fn main() {
    let options = std::sync::Arc::new(parse_args());
    // One worker thread: the generator must leave the other core to the server.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let deadline = started + options.duration;
    let tallies = runtime.block_on(async {
        let tasks: Vec<_> = (0..options.connections)
            .map(|_| tokio::spawn(connection_loop(options.clone(), deadline)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("task"));
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    let mut errors = 0;
    for t in tallies {
        latencies.extend(t.latencies_us);
        for (s, n) in t.statuses {
            *statuses.entry(s).or_default() += n;
        }
        errors += t.errors;
    }
    latencies.sort_unstable();
    let total = latencies.len() as f64;
    let rps = total / elapsed;
    let (p50, p90, p99, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    if options.json {
        let statuses: BTreeMap<String, u64> =
            statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        println!(
            "{}",
            serde_json::json!({
                "url": options.url.as_str(), "connections": options.connections, "seconds": elapsed,
                "requests": total as u64, "rps": rps, "p50_ms": p50, "p90_ms": p90, "p99_ms": p99,
                "max_ms": max, "statuses": statuses, "errors": errors,
            })
        );
    } else {
        println!(
            "{} {} — {} connections, {:.1} s\n  requests: {} ({:.0}/s), errors: {errors}\n  statuses: {statuses:?}\n  latency ms: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  max {max:.2}",
            options.method, options.url, options.connections, elapsed, total as u64, rps
        );
    }
}
