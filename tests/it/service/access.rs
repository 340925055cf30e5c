//! Access control per endpoint group on a real socket: basic and bearer (inline and from files), allowlist refusal
//! and acceptance, and `/metrics` guarded while `/lists` stays open.

use crate::service::daemon::sample;
use crate::service::edl::{client, loaded, send, Reply, TXT};
use base64::Engine;
use reqwest::header;
use reqwest::Method;

fn basic(user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {b64}")
}

async fn get(base: &str, path: &str, auth: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", *a)).collect();
    send(&client(), Method::GET, &format!("{base}{path}"), &headers).await
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_from_files_and_a_refused_address() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    let token = dir.path().join("token");
    std::fs::write(&password, "pa:ss w0rd\n").unwrap();
    std::fs::write(&token, "tok-3f9a\n").unwrap();
    let http = format!(
        "http:\n  lists:\n    auth: {{ type: basic, username: fw, password_file: {} }}\n  metrics:\n    auth: {{ type: bearer, token_file: {} }}\n  status:\n    allow: [10.0.0.0/8]\n",
        password.display(),
        token.display()
    );
    let (_up, d) = loaded(dir.path(), &http).await;
    let b = d.base.as_str();
    let list = "/lists/tor-exits.txt";

    let r = get(b, list, None).await;
    assert_eq!(r.status, 401);
    assert!(r
        .header(header::WWW_AUTHENTICATE)
        .starts_with("Basic realm="));
    let r = get(b, list, Some("Bearer tok-3f9a")).await;
    assert_eq!(r.status, 401, "another scheme is no credentials");
    for wrong in [
        basic("fw", "pa:ss"),
        basic("fw", "pa:ss w0rd\n"),
        basic("admin", "pa:ss w0rd"),
        "Basic !!!".into(),
    ] {
        assert_eq!(get(b, list, Some(&wrong)).await.status, 403, "{wrong}");
    }
    let r = get(b, list, Some(&basic("fw", "pa:ss w0rd"))).await;
    assert_eq!((r.status, r.text()), (200, TXT));
    let r = get(
        b,
        list,
        Some(&basic("fw", "pa:ss w0rd").replace("Basic", "basic")),
    )
    .await;
    assert_eq!(r.status, 200, "the scheme is case-insensitive");

    let r = get(b, "/metrics", None).await;
    assert_eq!(r.status, 401);
    assert!(r
        .header(header::WWW_AUTHENTICATE)
        .starts_with("Bearer realm="));
    assert_eq!(get(b, "/metrics", Some("Bearer tok-3f9")).await.status, 403);
    assert_eq!(
        get(b, "/metrics", Some("Bearer tok-3f9aa")).await.status,
        403
    );
    assert_eq!(
        get(b, "/metrics", Some(&basic("fw", "pa:ss w0rd")))
            .await
            .status,
        401
    );
    let metrics = get(b, "/metrics", Some("Bearer tok-3f9a")).await;
    assert_eq!(metrics.status, 200);

    // 127.0.0.1 is not in 10.0.0.0/8; health stays open to probes.
    let r = get(b, "/", None).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("not allowed"), "{}", r.text());
    assert_eq!(get(b, "/healthz", None).await.status, 200);

    let counted = get(b, "/metrics", Some("Bearer tok-3f9a")).await;
    let text = counted.text();
    let series = |endpoint: &str, code: u16| {
        sample(
            text,
            &format!("torwatch_http_requests_total{{endpoint=\"{endpoint}\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(series("lists", 401), 2.0, "{text}");
    assert_eq!(series("lists", 403), 4.0);
    assert_eq!(series("lists", 200), 2.0);
    assert_eq!(series("metrics", 401), 2.0);
    assert_eq!(series("metrics", 403), 2.0);
    assert_eq!(series("metrics", 200), 1.0);
    assert_eq!(series("status", 403), 1.0);
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_guarded_while_lists_stay_open_to_allowed_clients() {
    let dir = tempfile::tempdir().unwrap();
    let http = "http:\n  lists:\n    allow: [10.0.0.0/8, 127.0.0.0/8]\n  metrics:\n    auth: { type: basic, username: prom, password: scrape }\n    allow: [127.0.0.1/32]\n  status:\n    auth: { type: bearer, token: st4tus }\n";
    let (_up, d) = loaded(dir.path(), http).await;
    let b = d.base.as_str();
    let r = get(b, "/lists/tor-exits.txt", None).await;
    assert_eq!((r.status, r.text()), (200, TXT));
    let r = get(b, "/lists/tor-exits.txt", Some("Bearer ignored")).await;
    assert_eq!(r.status, 200, "credentials on an open group are ignored");
    assert_eq!(get(b, "/metrics", None).await.status, 401);
    assert_eq!(
        get(b, "/metrics", Some(&basic("prom", "scrap")))
            .await
            .status,
        403
    );
    let r = get(b, "/metrics", Some(&basic("prom", "scrape"))).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("torwatch_http_requests_total"),
        "{}",
        r.text()
    );
    assert_eq!(get(b, "/", None).await.status, 401);
    assert_eq!(get(b, "/", Some("Bearer nope")).await.status, 403);
    let status = get(b, "/", Some("Bearer st4tus")).await.status;
    assert!(matches!(status, 200 | 404), "{status}");
    d.stop();
}
