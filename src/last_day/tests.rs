use super::*;

#[test]
fn windows_and_tops() {
    let mut r = HourlyHits::default();
    let a: IpAddr = "192.0.2.1".parse().unwrap();
    let b: IpAddr = "192.0.2.2".parse().unwrap();
    let t = 1_000_000 * HOUR;
    let seen = |at, exit, country, port, http| Seen {
        at,
        exit,
        country,
        port,
        http,
        kind: if http.is_some() {
            Kind::Web
        } else {
            Kind::Traffic
        },
        login: None,
    };
    r.inbound(seen(t, a, "de", Some(22), None));
    r.inbound(seen(t + 10, a, "de", Some(22), Some(404)));
    r.inbound(seen(t + HOUR, b, "us", Some(443), None));
    r.outbound(t + HOUR);
    let s = r.summary(t + HOUR, 10);
    assert_eq!(s.hourly.len(), 24);
    assert_eq!(
        s.hourly[22],
        Hour {
            start: t,
            kinds: [1, 0, 1]
        }
    );
    assert_eq!(
        s.hourly[23],
        Hour {
            start: t + HOUR,
            kinds: [1, 0, 0]
        }
    );
    assert!(s.hourly[..22].iter().all(|h| h.kinds == [0; 3]));
    assert_eq!(s.hits, 4);
    assert_eq!(s.outbound, 1);
    assert_eq!(s.exits, vec![(a, 2, t + 10), (b, 1, t + HOUR)]);
    assert_eq!(s.http, vec![(404, 1)]);
    assert_eq!(s.ports, vec![("22".to_string(), 2), ("443".to_string(), 1)]);
    // 24 hours later the first hour has left the window.
    let s = r.summary(t + 24 * HOUR, 10);
    assert_eq!(s.exits, vec![(b, 1, t + HOUR)]);
    let empty = r.summary(t + 50 * HOUR, 10);
    assert_eq!((empty.hits, empty.exits.len()), (0, 0));
    assert!(empty.hourly.iter().all(|h| h.kinds == [0; 3]));
}

#[test]
fn a_hit_goes_in_the_hour_of_its_line() {
    let now = 1_000_000 * HOUR + 1800;
    assert_eq!(HourlyHits::place(None, now), Some(now));
    assert_eq!(
        HourlyHits::place(Some(now - 5 * HOUR), now),
        Some(now - 5 * HOUR)
    );
    assert_eq!(
        HourlyHits::place(Some(now + 60), now),
        Some(now),
        "a little ahead: now"
    );
    assert_eq!(
        HourlyHits::place(Some(now + 2 * HOUR), now),
        Some(now),
        "far ahead: not believed"
    );
    let first = 1_000_000 * HOUR - 23 * HOUR;
    assert_eq!(
        HourlyHits::place(Some(first), now),
        Some(first),
        "the oldest hour shown"
    );
    assert_eq!(
        HourlyHits::place(Some(first - 1), now),
        None,
        "older than the window"
    );
}

#[test]
fn logins_by_service_and_result() {
    let mut r = HourlyHits::default();
    let exit: IpAddr = "192.0.2.1".parse().unwrap();
    let t = 1_000_000 * HOUR;
    let login = |at, service, action| Seen {
        at,
        exit,
        country: "de",
        port: None,
        http: None,
        kind: Kind::Auth,
        login: Some((service, action)),
    };
    r.inbound(login(t, Some(Service::Ssh), Some(Action::Fail)));
    r.inbound(login(t + 1, Some(Service::Ssh), Some(Action::Fail)));
    r.inbound(login(t + HOUR, Some(Service::Ssh), Some(Action::Allow)));
    r.inbound(login(t + HOUR, None, None));
    r.inbound(Seen {
        login: None,
        ..login(t, None, None)
    });
    let s = r.summary(t + HOUR, 10);
    assert_eq!(s.logins[Service::Ssh.slot()], [2, 1, 0]);
    assert_eq!(s.logins[Service::ALL.len()], [0, 0, 1]);
    let rows = login_rows(&s.logins);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].service, rows[0].succeeded), ("ssh", 1));
    assert_eq!((rows[1].service, rows[1].no_outcome), ("other", 1));
    // A day later the window is empty again.
    assert_eq!(r.summary(t + 26 * HOUR, 10).logins, Logins::default());
}
