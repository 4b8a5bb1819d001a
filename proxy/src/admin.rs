//! The admin HTTP endpoint (hyper 1, HTTP/1.1) on its own listener:
//!
//! | path        | answer                                                            |
//! |-------------|-------------------------------------------------------------------|
//! | `/metrics`  | Prometheus text format                                            |
//! | `/healthz`  | 200 while the process runs                                        |
//! | `/readyz`   | 503 until all 16384 slots have an up master, then 200             |
//! | `/topology` | JSON: slot ranges → nodes with health and role                    |
//! | `/config`   | the running config as JSON, secrets shown as `"***"`              |
//!
//! Any other path is 404; any method but GET (or HEAD) is 405. The data comes through the
//! [`AdminSource`] trait, so this module knows nothing of the proxy's internals.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::metrics::metrics;

/// What the admin endpoint reports; the proxy implements it.
pub trait AdminSource: Send + Sync + 'static {
    /// Whether every slot has an up master.
    fn ready(&self) -> bool;
    /// The topology as a JSON document.
    fn topology_json(&self) -> String;
    /// The running config as JSON, secrets redacted.
    fn config_json(&self) -> String;
}

/// Serves admin requests on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, source: Arc<dyn AdminSource>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(%err, "admin accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let source = source.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let source = source.clone();
                async move { Ok::<_, Infallible>(route(&request, source.as_ref())) }
            });
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%err, "admin connection ended");
            }
        });
    }
}

/// Answers one request.
fn route(request: &Request<Incoming>, source: &dyn AdminSource) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(
        path,
        "/metrics" | "/healthz" | "/readyz" | "/topology" | "/config"
    ) {
        return respond(StatusCode::NOT_FOUND, TEXT, "not found\n".into());
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = respond(
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "method not allowed\n".into(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/metrics" => respond(StatusCode::OK, PROMETHEUS, metrics().encode()),
        "/healthz" => respond(StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" if source.ready() => respond(StatusCode::OK, TEXT, "ready\n".into()),
        "/readyz" => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "not ready: some slots have no up master\n".into(),
        ),
        "/topology" => respond(StatusCode::OK, JSON, source.topology_json()),
        _ => respond(StatusCode::OK, JSON, source.config_json()),
    }
}

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    struct Fake(AtomicBool);

    impl AdminSource for Fake {
        fn ready(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
        fn topology_json(&self) -> String {
            r#"{"ranges":[]}"#.into()
        }
        fn config_json(&self) -> String {
            r#"{"proxy":{"password":"***"}}"#.into()
        }
    }

    async fn get(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, text)
    }

    #[tokio::test]
    async fn every_endpoint_answers() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Arc::new(Fake(AtomicBool::new(false)));
        tokio::spawn(serve(listener, fake.clone()));
        assert_eq!(get(addr, "GET", "/healthz").await.0, 200);
        assert_eq!(get(addr, "GET", "/readyz").await.0, 503);
        fake.0.store(true, Ordering::Relaxed);
        assert_eq!(get(addr, "GET", "/readyz").await.0, 200);
        let (status, body) = get(addr, "GET", "/metrics").await;
        assert_eq!(status, 200);
        assert!(body.contains("slotgate_build_info"), "{body}");
        assert!(get(addr, "GET", "/topology").await.1.contains("ranges"));
        assert!(get(addr, "GET", "/config").await.1.contains("***"));
        assert_eq!(get(addr, "GET", "/nope").await.0, 404);
        let (status, body) = get(addr, "POST", "/metrics").await;
        assert_eq!(status, 405);
        assert!(body.to_ascii_lowercase().contains("allow: get, head"));
    }
}
