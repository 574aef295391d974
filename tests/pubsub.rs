//! Pub/Sub against real processes: messages in order, patterns, unsubscribe, and following
//! the master through a forced failover and a kill -9 with a publisher running.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{direct, wait_links, Topology};
use redis_sentinel::{Client, Message};

const NAME: &str = "mymaster";

fn client_for(topo: &Topology) -> Arc<Client> {
    let mut config = topo.config(&[NAME], 4);
    config.read_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_millis(300);
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    client
}

fn publish(client: &Client, channel: &str, data: &str) {
    let mut conn = client.get_master(NAME).unwrap();
    let result = conn.command(&[b"PUBLISH", channel.as_bytes(), data.as_bytes()]);
    client.carefully_put_master(conn, result.as_ref().err());
    result.unwrap();
}

#[test]
fn messages_patterns_and_unsubscribe_in_order() {
    let topo = Topology::start(&[NAME], 1, 3);
    let client = client_for(&topo);
    let mut ps = client.pubsub(NAME).unwrap();
    assert!(ps.subscribe(&[]).is_err(), "subscribe needs a channel");
    ps.subscribe(&[b"orders", b"audit"]).unwrap();
    ps.psubscribe(&[b"news.*"]).unwrap();
    assert_eq!(
        ps.next(Duration::from_millis(50)).unwrap(),
        None,
        "confirmations are not messages"
    );
    publish(&client, "orders", "1");
    publish(&client, "news.x", "2");
    publish(&client, "audit", "3");
    publish(&client, "other", "ignored");
    let got: Vec<Message> = (0..3)
        .map(|_| ps.next(Duration::from_secs(2)).unwrap().expect("a message"))
        .collect();
    assert_eq!(
        got,
        vec![
            Message::Message {
                channel: b"orders".to_vec(),
                data: b"1".to_vec()
            },
            Message::PMessage {
                pattern: b"news.*".to_vec(),
                channel: b"news.x".to_vec(),
                data: b"2".to_vec()
            },
            Message::Message {
                channel: b"audit".to_vec(),
                data: b"3".to_vec()
            },
        ]
    );
    assert_eq!(ps.next(Duration::from_millis(100)).unwrap(), None);
    ps.unsubscribe(&[b"audit"]).unwrap();
    ps.punsubscribe(&[]).unwrap();
    publish(&client, "audit", "4");
    publish(&client, "news.y", "5");
    publish(&client, "orders", "6");
    assert_eq!(
        ps.next(Duration::from_secs(2)).unwrap(),
        Some(Message::Message {
            channel: b"orders".to_vec(),
            data: b"6".to_vec()
        })
    );
    assert_eq!(ps.subscriptions(), (vec![b"orders".to_vec()], vec![]));
    // Keyspace notifications are messages like any other.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("KA")
        .query(&mut direct(topo.master_port(NAME)))
        .unwrap();
    ps.psubscribe(&[b"__keyspace@0__:*"]).unwrap();
    let mut conn = client.get_master(NAME).unwrap();
    conn.command(&[b"SET", b"watched", b"1"]).unwrap();
    client.put_master(conn);
    assert_eq!(
        ps.next(Duration::from_secs(2)).unwrap(),
        Some(Message::PMessage {
            pattern: b"__keyspace@0__:*".to_vec(),
            channel: b"__keyspace@0__:watched".to_vec(),
            data: b"set".to_vec()
        })
    );
    // Closed from another thread while waiting: the wait ends with CLOSED.
    let closer = ps.closer();
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        let result = ps.next(Duration::from_secs(10));
        (result, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(100));
    closer.close();
    let (result, waited) = waiter.join().unwrap();
    assert_eq!(
        result.unwrap_err().kind(),
        redis_sentinel::ErrorKind::Closed
    );
    assert!(waited < Duration::from_secs(1), "close took {waited:?}");
    client.close();
    let late = Client::new(topo.config(&[NAME], 1)).unwrap();
    let mut ps = late.pubsub(NAME).unwrap();
    late.close();
    assert_eq!(
        ps.subscribe(&[b"x"]).unwrap_err().kind(),
        redis_sentinel::ErrorKind::Closed
    );
}

/// A publisher following the failover publishes a sequence number every millisecond; the
/// subscriber must hear a marker, then the sequence on the new master, with nothing twice,
/// nothing out of order, and no acknowledged message missing without a marker in its place.
/// (A subscription may start again more than once while the sentinels settle: each time it
/// says so.) Returns the longest pause between two received messages.
fn follow_with_publisher(topo: &Topology, fault: impl FnOnce()) -> Duration {
    let client = client_for(topo);
    let mut ps = client.pubsub(NAME).unwrap();
    ps.subscribe(&[b"seq"]).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (client, stop) = (client.clone(), stop.clone());
        std::thread::spawn(move || {
            // A number is never published twice: one whose PUBLISH failed may still have
            // been delivered by the old master.
            let (mut n, mut acked) = (0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut conn) = client.get_master(NAME) {
                    let data = n.to_string();
                    let result = conn.command(&[b"PUBLISH", b"seq", data.as_bytes()]);
                    if result.is_ok() {
                        acked.push(n);
                    }
                    client.carefully_put_master(conn, result.as_ref().err());
                    n += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            acked
        })
    };
    let mut received: Vec<(Instant, Option<u64>)> = Vec::new();
    let collect = |ps: &mut redis_sentinel::PubSub, until: Instant, out: &mut Vec<_>| {
        while Instant::now() < until {
            match ps.next(Duration::from_millis(100)).unwrap() {
                Some(Message::Message { data, .. }) => out.push((
                    Instant::now(),
                    Some(String::from_utf8(data).unwrap().parse::<u64>().unwrap()),
                )),
                Some(Message::Resubscribed) => out.push((Instant::now(), None)),
                Some(other) => panic!("unexpected {other:?}"),
                None => {}
            }
        }
    };
    collect(
        &mut ps,
        Instant::now() + Duration::from_millis(500),
        &mut received,
    );
    let faulted_at = Instant::now();
    fault();
    collect(&mut ps, faulted_at + Duration::from_secs(6), &mut received);
    stop.store(true, Ordering::Relaxed);
    let acked = publisher.join().unwrap();
    let published = acked.len();
    let markers = received.iter().filter(|(_, n)| n.is_none()).count();
    let numbers: Vec<u64> = received.iter().filter_map(|(_, n)| *n).collect();
    assert!(markers >= 1, "a resubscribed marker");
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "every message once, in order"
    );
    // Between two received messages, an acknowledged one may be missing only if a marker
    // came between them.
    let (mut last, mut marked) = (None::<u64>, false);
    for (_, n) in &received {
        match n {
            None => marked = true,
            Some(n) => {
                let skipped = acked
                    .iter()
                    .filter(|a| last.is_none_or(|l| **a > l) && **a < *n)
                    .count();
                assert!(
                    skipped == 0 || marked,
                    "{skipped} acknowledged messages before {n} missing without a marker"
                );
                (last, marked) = (Some(*n), false);
            }
        }
    }
    let times: Vec<Instant> = received
        .iter()
        .filter(|(_, n)| n.is_some())
        .map(|(t, _)| *t)
        .collect();
    let pause = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let after_marker = received
        .iter()
        .skip_while(|(_, n)| n.is_some())
        .skip(1)
        .count();
    eprintln!(
        "published {published}, received {}, markers {markers}, longest pause {pause:?}, after the first marker {after_marker}",
        numbers.len()
    );
    assert!(after_marker > 100, "messages after the marker");
    client.close();
    pause
}

#[test]
fn a_forced_failover_resubscribes_on_the_new_master() {
    let topo = Topology::start(&[NAME], 2, 3);
    let pause = follow_with_publisher(&topo, || topo.start_failover(NAME, 0));
    assert!(pause < Duration::from_secs(1), "paused {pause:?}");
}

#[test]
fn a_killed_master_is_followed_by_its_subscribers() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let pause = follow_with_publisher(&topo, || topo.signal(old, "KILL"));
    // down-after (1 s) plus the election and promotion.
    assert!(pause < Duration::from_secs(4), "paused {pause:?}");
}
