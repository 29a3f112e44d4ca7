//! tokio's `flavor = "current_thread"`: one P, and the body runs in a
//! `LocalSet` on the calling thread, so `spawn_local` works and `!Send`
//! state stays on that thread.

use std::rc::Rc;

#[gmp::main(flavor = "current_thread")]
async fn main() {
    let main_thread = std::thread::current().id();
    let shared = Rc::new(20);
    let local = {
        let shared = shared.clone();
        gmp::task::spawn_local(async move {
            assert_eq!(std::thread::current().id(), main_thread);
            *shared + 1
        })
    };
    let sent = gmp::spawn(async { 21 }).await.unwrap();
    assert_eq!(local.await.unwrap() + sent, 42);
    assert_eq!(gmp::Handle::current().procs(), 1);
}
