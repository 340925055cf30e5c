//! HTTPS with certificates made at test time: a trusted server certificate for 127.0.0.1 and localhost, and with
//! `client_ca` only clients holding a certificate that CA signed are served.

use crate::service::daemon::{free_port, spawn, Daemon};
use crate::service::edl::{config, LIST, TXT};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = p.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    /// A leaf certificate and its key, both PEM.
    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "torwatch test");
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        let cert = p.signed_by(&key, &self.cert, &self.key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn https_client(ca: &Ca, identity: Option<&(String, String)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert.pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(5));
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// Starts torwatch over TLS (`tls` is the YAML flow map of `http.tls`) and waits until `client` sees it ready.
async fn start(dir: &Path, tls: &str, client: &reqwest::Client) -> Daemon {
    let list = dir.join("exits.txt");
    std::fs::write(&list, LIST).unwrap();
    let port = free_port();
    let path = dir.join("torwatch.yaml");
    let extra = format!("http:\n  tls: {tls}\n");
    std::fs::write(
        &path,
        format!(
            "listen: 127.0.0.1:{port}\nstate_dir: {}\n{}",
            dir.join("state").display(),
            config(&list.display().to_string(), &extra)
        ),
    )
    .unwrap();
    let log = dir.join("torwatch.log");
    let child = spawn(&path, &log, &[]);
    let d = Daemon {
        child,
        base: format!("https://127.0.0.1:{port}"),
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{}/readyz", d.base)).send().await {
            if r.status() == 200 {
                return d;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("torwatch did not start over TLS:\n{}", d.log_tail());
}

fn write(dir: &Path, name: &str, pem: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, pem).unwrap();
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_a_trusted_server_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("torwatch test CA");
    let (cert, key) = ca.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let tls = format!(
        "{{ cert: {}, key: {} }}",
        write(dir.path(), "server.crt", &cert),
        write(dir.path(), "server.key", &key)
    );
    let c = https_client(&ca, None);
    let d = start(dir.path(), &tls, &c).await;
    let port = d.base.rsplit(':').next().unwrap().to_string();
    for base in [d.base.clone(), format!("https://localhost:{port}")] {
        let r = c
            .get(format!("{base}/lists/tor-exits.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{base}");
        assert_eq!(r.text().await.unwrap(), TXT);
    }
    // A client that does not trust the CA refuses the server.
    let stranger = https_client(&Ca::new("another CA"), None);
    let r = stranger.get(format!("{}/healthz", d.base)).send().await;
    assert!(r.is_err(), "{r:?}");
    // Plain HTTP to the TLS port gets no list.
    let r = reqwest::get(format!("http://127.0.0.1:{port}/lists/tor-exits.txt")).await;
    assert!(r.is_err() || r.unwrap().status() != 200);
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_signed_by_client_ca_only() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("torwatch test CA");
    let (cert, key) = ca.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let clients = Ca::new("firewalls CA");
    let firewall = clients.issue(&["fw1.example.net"], ExtendedKeyUsagePurpose::ClientAuth);
    let tls = format!(
        "{{ cert: {}, key: {}, client_ca: {} }}",
        write(dir.path(), "server.crt", &cert),
        write(dir.path(), "server.key", &key),
        write(dir.path(), "clients.crt", &clients.cert.pem())
    );
    let trusted = https_client(&ca, Some(&firewall));
    let d = start(dir.path(), &tls, &trusted).await;
    let url = format!("{}/lists/tor-exits.txt", d.base);

    let r = trusted.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), TXT);

    let anonymous = https_client(&ca, None);
    let r = anonymous.get(&url).send().await;
    assert!(r.is_err(), "no client certificate was served: {r:?}");

    let rogue = Ca::new("firewalls CA");
    let impostor = rogue.issue(&["fw1.example.net"], ExtendedKeyUsagePurpose::ClientAuth);
    let r = https_client(&ca, Some(&impostor)).get(&url).send().await;
    assert!(
        r.is_err(),
        "a certificate from another CA was served: {r:?}"
    );

    // The client may see the refusal before the server has logged it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let log = std::fs::read_to_string(&d.log).unwrap();
        let refused = log.matches("TLS handshake failed").count();
        if refused == 2 {
            break;
        }
        assert!(
            refused < 2 && Instant::now() < deadline,
            "the server refused {refused} handshakes, not 2:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The refused handshakes did not take the listener down.
    let r = trusted.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    d.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn renewed_certificates_apply_after_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = Ca::new("torwatch old CA");
    let (cert, key) = old_ca.issue(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    let tls = format!(
        "{{ cert: {}, key: {} }}",
        write(dir.path(), "server.crt", &cert),
        write(dir.path(), "server.key", &key)
    );
    let old = https_client(&old_ca, None);
    let d = start(dir.path(), &tls, &old).await;
    let hup = || {
        Command::new("kill")
            .args(["-HUP", &d.child.id().to_string()])
            .status()
            .unwrap()
    };

    // A broken key: the reload is refused and the old certificate keeps serving.
    write(dir.path(), "server.key", "not a key\n");
    hup();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let r = old.get(format!("{}/healthz", d.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(std::fs::read_to_string(&d.log)
        .unwrap()
        .contains("reload refused"));

    // A renewed certificate from another CA: new connections get it.
    let new_ca = Ca::new("torwatch new CA");
    let (cert, key) = new_ca.issue(&["127.0.0.1"], ExtendedKeyUsagePurpose::ServerAuth);
    write(dir.path(), "server.crt", &cert);
    write(dir.path(), "server.key", &key);
    hup();
    let fresh = https_client(&new_ca, None);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = fresh
            .get(format!("{}/lists/tor-exits.txt", d.base))
            .send()
            .await
        {
            assert_eq!(r.text().await.unwrap(), TXT);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "renewed certificate not served:\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stale = https_client(&old_ca, None);
    assert!(stale
        .get(format!("{}/healthz", d.base))
        .send()
        .await
        .is_err());
    d.stop();
}
