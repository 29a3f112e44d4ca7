//! `fs`: tokio::fs's everyday surface, made inline under the `syscall`
//! marker; a loop of file calls still yields to the other Gs of its P.
#![cfg(not(loom))]

use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;

use futures::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use futures::StreamExt;
use gmp_exec::fs;
use gmp_exec::Runtime;

mod common;
use common::within;

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gmp-fs-test-{}-{name}", std::process::id()))
}

#[test]
fn whole_file_helpers_and_directories() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("fs helpers", move || {
        rt.block_on(async {
            let dir = scratch("helpers");
            fs::create_dir_all(dir.join("sub/deeper")).await?;
            let a = dir.join("a.txt");
            fs::write(&a, "alpha").await?;
            assert_eq!(fs::read(&a).await?, b"alpha");
            assert_eq!(fs::read_to_string(&a).await?, "alpha");
            let meta = fs::metadata(&a).await?;
            assert!(meta.is_file() && meta.len() == 5);
            let b = dir.join("sub/b.txt");
            fs::rename(&a, &b).await?;
            assert!(!fs::try_exists(&a).await?);
            assert_eq!(fs::copy(&b, &a).await?, 5);
            #[cfg(unix)]
            {
                let link = dir.join("link");
                fs::symlink(&b, &link).await?;
                assert_eq!(fs::read_link(&link).await?, b);
                assert!(fs::symlink_metadata(&link).await?.file_type().is_symlink());
            }
            assert_eq!(fs::canonicalize(&b).await?, std::fs::canonicalize(&b)?);
            fs::remove_file(&a).await?;
            assert_eq!(
                fs::remove_file(&a).await.unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
            let err = fs::read_to_string(dir.join("missing")).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::NotFound);
            fs::remove_dir_all(&dir).await?;
            assert!(!fs::try_exists(&dir).await?);
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn read_dir_streams_every_entry() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("read_dir", move || {
        rt.block_on(async {
            let dir = scratch("read_dir");
            fs::create_dir_all(&dir).await?;
            for i in 0..300 {
                fs::write(dir.join(format!("f{i:03}")), [i as u8]).await?;
            }
            fs::create_dir(dir.join("subdir")).await?;
            // As a stream.
            let entries: Vec<_> = fs::read_dir(&dir).await?.collect().await;
            let mut names: Vec<String> = entries
                .into_iter()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            assert_eq!(names.len(), 301);
            assert_eq!(names[0], "f000");
            assert_eq!(names[300], "subdir");
            // With next_entry, and entry metadata.
            let mut rd = fs::read_dir(&dir).await?;
            let mut dirs = 0;
            while let Some(entry) = rd.next_entry().await? {
                if entry.file_type().await?.is_dir() {
                    dirs += 1;
                    assert!(entry.metadata().await?.is_dir());
                    assert_eq!(entry.path(), dir.join("subdir"));
                }
            }
            assert_eq!(dirs, 1);
            fs::remove_dir_all(&dir).await?;
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn file_reads_writes_and_seeks() {
    let rt = Runtime::builder().procs(2).build().unwrap();
    within("File", move || {
        rt.block_on(async {
            let path = scratch("file");
            let mut f = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .await?;
            let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
            f.write_all(&data).await?;
            f.flush().await?;
            assert_eq!(f.seek(SeekFrom::Start(100)).await?, 100);
            let mut buf = [0; 10];
            f.read_exact(&mut buf).await?;
            assert_eq!(&buf[..], &data[100..110]);
            assert_eq!(f.seek(SeekFrom::End(-5)).await?, data.len() as u64 - 5);
            let mut tail = Vec::new();
            f.read_to_end(&mut tail).await?;
            assert_eq!(tail, &data[data.len() - 5..]);
            f.set_len(10).await?;
            assert_eq!(f.metadata().await?.len(), 10);
            f.sync_all().await?;
            drop(f);
            let mut again = fs::File::open(&path).await?;
            let mut all = Vec::new();
            again.read_to_end(&mut all).await?;
            assert_eq!(all, &data[..10]);
            assert_eq!(
                fs::File::create_new(&path).await.unwrap_err().kind(),
                io::ErrorKind::AlreadyExists
            );
            fs::remove_file(&path).await?;
            io::Result::Ok(())
        })
        .unwrap()
    });
}

#[test]
fn a_loop_of_file_calls_lets_the_other_gs_of_its_p_run() {
    // One P: the flag's G runs only if the loop yields (cooperative budget).
    let rt = Runtime::builder().procs(1).build().unwrap();
    within("budget", move || {
        rt.block_on(async {
            let path = scratch("budget");
            fs::write(&path, "x").await.unwrap();
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            let looping = gmp_exec::spawn(async move {
                let mut n = 0u64;
                while !flag.load(SeqCst) {
                    fs::metadata(&path).await.unwrap();
                    n += 1;
                }
                fs::remove_file(&path).await.unwrap();
                n
            });
            gmp_exec::spawn(async move { ran.store(true, SeqCst) })
                .await
                .unwrap();
            assert!(looping.await.unwrap() > 0);
        })
    });
}

#[cfg(all(feature = "coro", any(unix, windows)))]
#[test]
fn coroutine_gs_use_fs_through_wait() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let _guard = rt.enter();
    let path = scratch("coro");
    let h = gmp_exec::coro::spawn(move || {
        gmp_exec::coro::wait(fs::write(&path, "from a coroutine")).unwrap();
        let s = gmp_exec::coro::wait(fs::read_to_string(&path)).unwrap();
        gmp_exec::coro::wait(fs::remove_file(&path)).unwrap();
        s
    });
    assert_eq!(
        within("coroutine fs", move || h.join().unwrap()),
        "from a coroutine"
    );
}
