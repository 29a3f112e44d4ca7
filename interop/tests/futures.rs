//! The `futures` crate's combinators, channels, streams and I/O utilities on
//! gmp Gs and gmp sockets.
#![cfg(unix)]

use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{FutureExt, SinkExt, StreamExt};
use gmp::net::{TcpListener, TcpStream};

#[gmp::test]
async fn join_runs_futures_concurrently_in_one_task() {
    let (tx_a, rx_a) = oneshot::channel();
    let (tx_b, rx_b) = oneshot::channel();
    // Each side waits for the other's message: only concurrent polling ends.
    let a = async move {
        tx_b.send("from a").unwrap();
        rx_a.await.unwrap()
    };
    let b = async move {
        let got = rx_b.await.unwrap();
        tx_a.send("from b").unwrap();
        got
    };
    assert_eq!(futures::join!(a, b), ("from b", "from a"));
    let all =
        futures::future::join_all((0..100u32).map(|i| gmp::spawn(async move { i * 2 }))).await;
    let sum: u32 = all.into_iter().map(Result::unwrap).sum();
    assert_eq!(sum, 9_900);
}

#[gmp::test]
async fn select_takes_the_first_ready_branch_and_drops_the_other() {
    let (_never_tx, never) = oneshot::channel::<()>();
    let (tx, soon) = oneshot::channel();
    gmp::spawn(async move {
        gmp::time::sleep(Duration::from_millis(2)).await;
        tx.send(7).unwrap();
    });
    let mut never = never.fuse();
    let mut soon = soon.fuse();
    let got = futures::select! {
        _ = never => unreachable!("its sender is alive and silent"),
        v = soon => v.unwrap(),
    };
    assert_eq!(got, 7);

    // select! against a gmp timer: the timeout branch wins.
    let mut sleep = gmp::time::sleep(Duration::from_millis(1)).fuse();
    let timed_out = futures::select! {
        _ = never => false,
        _ = sleep => true,
    };
    assert!(timed_out);
}

#[gmp::test(procs = 4)]
async fn mpsc_carries_every_message_from_many_producers_across_ps() {
    let (tx, mut rx) = mpsc::channel::<(usize, usize)>(16);
    let producers = 16;
    let per = 1_000;
    for p in 0..producers {
        let mut tx = tx.clone();
        gmp::spawn(async move {
            for i in 0..per {
                tx.send((p, i)).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut next = vec![0; producers];
    let mut count = 0;
    while let Some((p, i)) = rx.next().await {
        assert_eq!(i, next[p], "producer {p}'s messages arrived out of order");
        next[p] += 1;
        count += 1;
    }
    assert_eq!(count, producers * per);
}

#[gmp::test]
async fn oneshot_hands_a_value_between_tasks_and_reports_a_dropped_sender() {
    let (tx, rx) = oneshot::channel();
    gmp::spawn(async move { tx.send(String::from("done")).unwrap() });
    assert_eq!(rx.await.unwrap(), "done");

    let (tx, rx) = oneshot::channel::<()>();
    gmp::spawn(async move { drop(tx) });
    assert!(rx.await.is_err(), "a dropped sender cancels the receiver");
}

#[gmp::test]
async fn streams_compose_over_spawned_producers() {
    let (tx, rx) = mpsc::unbounded();
    for i in 0..50u64 {
        let tx = tx.clone();
        gmp::spawn(async move { tx.unbounded_send(i).unwrap() });
    }
    drop(tx);
    let mut evens: Vec<u64> = rx
        .filter(|i| futures::future::ready(i % 2 == 0))
        .collect()
        .await;
    evens.sort_unstable();
    assert_eq!(evens, (0..50).step_by(2).collect::<Vec<_>>());

    // buffer_unordered runs several gmp tasks' results as a stream.
    let doubled: u64 = futures::stream::iter(0..100u64)
        .map(|i| gmp::spawn(async move { i * 2 }))
        .buffer_unordered(8)
        .map(Result::unwrap)
        .fold(0, |acc, v| async move { acc + v })
        .await;
    assert_eq!(doubled, 9_900);
}

#[gmp::test]
async fn io_copy_moves_a_megabyte_between_gmp_sockets() {
    // client --(1 MiB)--> relay --copy--> sink; the sink answers with the
    // checksum of what it received.
    let sink = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_addr = sink.local_addr().unwrap();
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = relay.local_addr().unwrap();

    let sink_task = gmp::spawn(async move {
        let (mut conn, _) = sink.accept().await.unwrap();
        let mut all = Vec::new();
        conn.read_to_end(&mut all).await.unwrap();
        all
    });
    gmp::spawn(async move {
        let (inbound, _) = relay.accept().await.unwrap();
        let mut outbound = TcpStream::connect(sink_addr).await.unwrap();
        let copied = futures::io::copy(inbound, &mut outbound).await.unwrap();
        outbound.close().await.unwrap();
        copied
    });

    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let mut client = TcpStream::connect(relay_addr).await.unwrap();
    client.write_all(&data).await.unwrap();
    client.close().await.unwrap();
    let received = sink_task.await.unwrap();
    assert_eq!(received.len(), data.len());
    assert!(received == data, "the relayed bytes differ");
}

#[gmp::test]
async fn split_halves_copy_with_futures_io_both_ways() {
    // An echo server built from futures::io::copy on the two halves.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    gmp::spawn(async move {
        let (conn, _) = listener.accept().await.unwrap();
        let (reader, mut writer) = conn.into_split();
        futures::io::copy(reader, &mut writer).await.unwrap();
    });
    let conn = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = conn.into_split();
    let writer_task = gmp::spawn(async move {
        for i in 0..100u32 {
            writer
                .write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        writer.close().await.unwrap();
    });
    let mut echoed = String::new();
    reader.read_to_string(&mut echoed).await.unwrap();
    writer_task.await.unwrap();
    let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
    assert_eq!(echoed, expected);
}
