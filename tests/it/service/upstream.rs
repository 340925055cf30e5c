//! A fake upstream list server on 127.0.0.1, port 0: each path answers with a behaviour the test sets and
//! changes at will; every request is recorded.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 200 with the body; with an ETag, a matching If-None-Match gets 304.
    Ok { body: Vec<u8>, etag: Option<String> },
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Accept and never answer.
    Hang,
    /// 200 with the body, after a pause.
    Late { body: Vec<u8>, after: Duration },
    /// Headers at once, then the body one chunk at a time.
    Drip {
        chunk: Vec<u8>,
        every: Duration,
        chunks: usize,
    },
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub at: Instant,
    pub headers: HeaderMap,
}

#[derive(Default)]
struct Inner {
    routes: HashMap<String, Behaviour>,
    seen: Vec<Seen>,
}

#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Upstream {
            addr,
            inner: Arc::default(),
            task: Arc::default(),
        };
        up.serve(listener);
        up
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(self.inner.clone());
        let handle = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        *self.task.lock().unwrap() = Some(handle);
    }

    /// Stops listening: connections are refused until `restart`.
    pub fn stop(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }

    pub async fn restart(&self) {
        self.stop();
        for _ in 0..50 {
            if let Ok(l) = tokio::net::TcpListener::bind(self.addr).await {
                self.serve(l);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot rebind {}", self.addr);
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn set(&self, path: &str, b: Behaviour) {
        self.inner
            .lock()
            .unwrap()
            .routes
            .insert(path.to_string(), b);
    }

    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let behaviour = {
        let mut i = inner.lock().unwrap();
        i.seen.push(Seen {
            path: path.clone(),
            at: Instant::now(),
            headers: req.headers().clone(),
        });
        i.routes.get(&path).cloned()
    };
    match behaviour {
        None => StatusCode::NOT_FOUND.into_response(),
        Some(Behaviour::Ok { body, etag }) => {
            if let Some(tag) = &etag {
                let inm = req
                    .headers()
                    .get("if-none-match")
                    .and_then(|v| v.to_str().ok());
                if inm == Some(tag.as_str()) {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
            }
            let mut r = Response::new(Body::from(body));
            if let Some(tag) = etag {
                r.headers_mut()
                    .insert("etag", HeaderValue::from_str(&tag).unwrap());
            }
            r
        }
        Some(Behaviour::Status {
            code,
            headers,
            body,
        }) => {
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = StatusCode::from_u16(code).unwrap();
            for (k, v) in headers {
                r.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(&v).unwrap(),
                );
            }
            r
        }
        Some(Behaviour::Late { body, after }) => {
            tokio::time::sleep(after).await;
            body.into_response()
        }
        Some(Behaviour::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Some(Behaviour::Drip {
            chunk,
            every,
            chunks,
        }) => {
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let chunk = chunk.clone();
                async move {
                    if i >= chunks {
                        return None;
                    }
                    tokio::time::sleep(every).await;
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), i + 1))
                }
            });
            Response::new(Body::from_stream(stream))
        }
    }
}
