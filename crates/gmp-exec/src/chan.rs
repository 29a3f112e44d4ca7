//! Go's channels: a multi-producer, multi-consumer FIFO queue that parks the
//! G on either end — a receiver while it is empty, a sender while it is full.
//!
//! `bounded(n)` is Go's `make(chan T, n)`; `bounded(0)` is Go's unbuffered
//! `make(chan T)`, a rendezvous (see below); `unbounded()` never makes a
//! sender wait. Both ends clone (Go's channel value is shared the same
//! way); the channel closes when the last [`Sender`] drops (Go's `close`):
//! receivers then take what is left and get [`RecvError`]. When the last
//! [`Receiver`] drops, a send gives its value back in [`SendError`].
//!
//! The ends are futures, so async Gs `.await` them and coroutine Gs
//! [`coro::wait`](crate::coro::wait) on them; they run on any executor.
//!
//! # How it is built, and why not on a crate
//!
//! Like Go's `hchan`, the channel is one lock around a ring of values and two
//! queues of parked Gs (Go's `recvq`/`sendq`, here wakers). An operation takes
//! the lock once; a wake happens after the lock is released. A parked G's
//! entry holds its waker, so parking allocates nothing once the queue has
//! grown. The channel crates we measured cost more per message on a
//! coroutine ping-pong (tokio's `mpsc` about a third more, `async-channel`
//! more again, from its per-wait listener allocations), and the stackful
//! benchmark sets gmp against Go's own channels and may's.
//!
//! A future that was woken but is dropped before it runs again (a `select!`
//! that took another branch, an abort) passes its wake on to the next parked
//! G on the same side, so no value or free slot is left with nobody woken.
//!
//! # Rendezvous (`bounded(0)`)
//!
//! A send on a channel without a buffer completes only when a receiver takes
//! the value. If a receiver is parked when it comes, the value is its (Go's
//! `sendDirect`): it is queued for that receiver, the receiver is woken and
//! the send completes at once. Otherwise the sender *offers* the value: it
//! waits in the queue, with the sender parked beside it, until a receiver
//! takes it — then that very sender is woken, and its send completes — or
//! until every receiver is gone, and the value comes back in [`SendError`].
//! A sender dropped while its value is offered takes the value back out.
//!
//! Values always pass through the one queue, never a receiver's own slot:
//! a Rust future can be dropped after it was woken (a `select!` that took
//! another branch), and a value handed to such a receiver would have to be
//! put back, behind values another receiver had already taken after it. So a
//! woken receiver that goes away leaves its value first in the queue, and
//! the wake passes on (below); the one difference from Go is that such a
//! value then waits for the next receiver although its send has completed.
//! For the same reason a buffered send with a receiver parked queues the value
//! and wakes that receiver, as any send does, rather than handing it over.
//!
//! # Waiting on several operations (Go's `select`)
//!
//! The futures are cancel-safe: a `Recv` dropped unfinished takes nothing and
//! passes on any wake it had, and a buffered `Send` dropped unfinished sent
//! nothing. So `futures::select!` (or `futures::future::select`) over them is
//! Go's `select`, from async Gs and, inside [`coro::wait`](crate::coro::wait),
//! from coroutine Gs; `try_send`/`try_recv` give its `default` branch. A
//! rendezvous `Send` is the one exception Go does not have: a receiver may
//! take its offered value just before `select!` picks another ready branch,
//! and then the value was sent although its branch did not run
//! ([`Send::is_taken`] tells, before the future is dropped).
//!
//! No waker is woken or dropped under the lock: dropping a task's last
//! reference may drop its output, which may hold an end of this very channel.
//! Values are not dropped under it either, except when the channel itself
//! goes.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Creates a channel that holds up to `capacity` values; a sender waits while
/// it is full (Go's `make(chan T, capacity)`).
///
/// ```
/// let (tx, rx) = gmp_exec::chan::bounded(2);
/// let answer = gmp_exec::block_on(async move {
///     gmp_exec::spawn(async move {
///         for i in 1..=3 {
///             tx.send(i).await.unwrap(); // waits while two are queued
///         }
///     });
///     let mut sum = 0;
///     while let Ok(i) = rx.recv().await {
///         sum += i;
///     }
///     sum // the sender dropped: the channel closed
/// });
/// assert_eq!(answer, 6);
/// ```
///
/// With `capacity` 0 the channel has no buffer (Go's `make(chan T)`): a send
/// completes only when a receiver takes the value (see
/// [Rendezvous](self#rendezvous-bounded0)).
///
/// ```
/// let (tx, rx) = gmp_exec::chan::bounded::<&str>(0);
/// // Nobody receives yet: the value cannot be left in a buffer.
/// assert!(tx.try_send("early").is_err());
/// let got = gmp_exec::block_on(async move {
///     let sender = gmp_exec::spawn(async move {
///         tx.send("hand-off").await.unwrap(); // completes once it is taken
///     });
///     let v = rx.recv().await.unwrap();
///     sender.await.unwrap();
///     v
/// });
/// assert_eq!(got, "hand-off");
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    new(capacity)
}

/// Creates a channel without a bound: a send never waits.
///
/// ```
/// let (tx, rx) = gmp_exec::chan::unbounded();
/// for i in 0..1000 {
///     tx.try_send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// assert_eq!(rx.try_recv(), Ok(0));
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(usize::MAX)
}

fn new<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        capacity,
        state: Mutex::new(State {
            items: VecDeque::new(),
            offers: VecDeque::new(),
            senders: 1,
            receivers: 1,
            recvq: Waiters::default(),
            sendq: Waiters::default(),
        }),
    });
    (
        Sender { chan: chan.clone() },
        Receiver { chan, stream: None },
    )
}

struct Chan<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

/// In `State::offers`: a value no parked sender waits beside (handed to a
/// parked receiver, or put back by one that went away).
const NO_SENDER: u64 = u64::MAX;

struct State<T> {
    items: VecDeque<T>,
    /// Rendezvous channels only (capacity 0), in step with `items`: the
    /// `sendq` entry id of the sender that waits beside each value, or
    /// [`NO_SENDER`]. Empty for every other channel.
    offers: VecDeque<u64>,
    senders: usize,
    receivers: usize,
    /// Receivers parked on an empty channel (Go's `recvq`).
    recvq: Waiters,
    /// Senders parked on a full channel (Go's `sendq`).
    sendq: Waiters,
}

impl<T> State<T> {
    /// Queues `value`; returns the oldest parked receiver, to wake.
    fn push(&mut self, value: T) -> Option<Waker> {
        self.items.push_back(value);
        self.recvq.pop()
    }

    /// Rendezvous with a receiver parked (Go's `sendDirect`): the value is
    /// queued for it with no sender waiting beside it, and it is returned to
    /// wake. The send is complete.
    fn hand_off(&mut self, value: T) -> Option<Waker> {
        self.items.push_back(value);
        self.offers.push_back(NO_SENDER);
        self.recvq.pop()
    }

    /// Takes the oldest value, with the sender to wake: the oldest parked one,
    /// for the room the value leaves; on a rendezvous channel, the one that
    /// offered the value, whose send is now complete.
    fn pop(&mut self) -> Option<(T, Option<Waker>)> {
        let value = self.items.pop_front()?;
        let wake = match self.offers.pop_front() {
            None => self.sendq.pop(),
            Some(NO_SENDER) => None,
            Some(sender) => self.sendq.cancel(sender),
        };
        Some((value, wake))
    }

    /// Rendezvous: whether the value the sender `id` offered is still queued.
    fn offered(&self, id: u64) -> Option<usize> {
        self.offers.iter().position(|&o| o == id)
    }

    /// Rendezvous: takes the value the sender `id` offered back out.
    fn withdraw(&mut self, id: u64) -> Option<T> {
        let at = self.offered(id)?;
        self.offers.remove(at);
        self.items.remove(at)
    }
}

/// Releases the lock, then drops `stale` and wakes `wake`: no waker is woken
/// or dropped under the lock (module docs).
fn unlock_then<T>(st: MutexGuard<'_, State<T>>, stale: Option<Waker>, wake: Option<Waker>) {
    drop(st);
    drop(stale);
    if let Some(w) = wake {
        w.wake();
    }
}

impl<T> Chan<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under the lock except a waker's `clone` and
        // `will_wake`, so a poisoned lock still guards consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parked Gs of one side, oldest first, each under the id its future keeps.
#[derive(Default)]
struct Waiters {
    queue: VecDeque<(u64, Waker)>,
    next_id: u64,
}

impl Waiters {
    /// Parks the future whose entry id is in `slot`: refreshes its waker if
    /// the entry is still queued, else queues a new entry. Returns a waker it
    /// replaced, for the caller to drop once the lock is released (dropping
    /// a task's last reference may run arbitrary drops, which may use this
    /// very channel).
    #[must_use]
    fn park(&mut self, slot: &mut Option<u64>, waker: &Waker) -> Option<Waker> {
        if let Some(id) = *slot {
            if let Some((_, w)) = self.queue.iter_mut().find(|(i, _)| *i == id) {
                if w.will_wake(waker) {
                    return None;
                }
                return Some(std::mem::replace(w, waker.clone()));
            }
        }
        let id = self.next_id;
        self.next_id += 1;
        self.queue.push_back((id, waker.clone()));
        *slot = Some(id);
        None
    }

    /// Takes the entry `id` out and returns its waker (to drop once the lock
    /// is released); `None` if it is gone, i.e. it was woken.
    #[must_use]
    fn cancel(&mut self, id: u64) -> Option<Waker> {
        let at = self.queue.iter().position(|(i, _)| *i == id)?;
        self.queue.remove(at).map(|(_, w)| w)
    }

    /// The oldest parked G's waker, taken out of the queue.
    fn pop(&mut self) -> Option<Waker> {
        self.queue.pop_front().map(|(_, w)| w)
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    fn drain(&mut self) -> Vec<Waker> {
        self.queue.drain(..).map(|(_, w)| w).collect()
    }
}

/// Takes the future's entry out of `waiters`. If it had been woken (the entry
/// is gone) and `pass_on` holds, the wake goes to the next parked G instead.
/// Returns (its own waker, to drop; a waker to wake), for `unlock_then`.
fn leave(
    waiters: &mut Waiters,
    slot: &mut Option<u64>,
    pass_on: bool,
) -> (Option<Waker>, Option<Waker>) {
    let Some(id) = slot.take() else {
        return (None, None);
    };
    match waiters.cancel(id) {
        Some(own) => (Some(own), None),
        None if pass_on => (None, waiters.pop()),
        None => (None, None),
    }
}

/// The sending end. Clone it for more senders; the channel closes when the
/// last one drops.
///
/// ```
/// let (tx, rx) = gmp_exec::chan::unbounded::<&str>();
/// let tx2: gmp_exec::chan::Sender<&str> = tx.clone();
/// tx.try_send("a").unwrap();
/// tx2.try_send("b").unwrap();
/// assert_eq!(rx.len(), 2);
/// drop((tx, tx2));
/// assert!(rx.is_closed());
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

/// The receiving end. Clone it for more receivers (each value goes to one of
/// them). Also a [`Stream`](futures_core::Stream) of the values.
///
/// ```
/// use futures::StreamExt;
/// let (tx, rx) = gmp_exec::chan::bounded(4);
/// let rx2: gmp_exec::chan::Receiver<i32> = rx.clone();
/// for i in 0..4 {
///     tx.try_send(i).unwrap();
/// }
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok(0));
/// let rest: Vec<i32> = gmp_exec::block_on(rx2.collect());
/// assert_eq!(rest, [1, 2, 3]);
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    /// The `Stream` impl's entry in the receive queue.
    stream: Option<u64>,
}

/// A send found every receiver gone; the value comes back.
///
/// ```
/// let (tx, rx) = gmp_exec::chan::bounded(1);
/// drop(rx);
/// let err: gmp_exec::chan::SendError<u8> = gmp_exec::block_on(tx.send(5)).unwrap_err();
/// assert_eq!(err.0, 5);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`] did not send; the value comes back.
///
/// ```
/// use gmp_exec::chan::TrySendError;
/// let (tx, rx) = gmp_exec::chan::bounded(1);
/// tx.try_send('a').unwrap();
/// assert_eq!(tx.try_send('b'), Err(TrySendError::Full('b')));
/// drop(rx);
/// assert_eq!(tx.try_send('c'), Err(TrySendError::Closed('c')));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// Every receiver is gone.
    Closed(T),
}

/// A receive found the channel closed (every sender gone) and empty.
///
/// ```
/// let (tx, rx) = gmp_exec::chan::unbounded::<()>();
/// drop(tx);
/// assert_eq!(gmp_exec::block_on(rx.recv()), Err(gmp_exec::chan::RecvError));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct RecvError;

/// Why [`Receiver::try_recv`] returned no value.
///
/// ```
/// use gmp_exec::chan::TryRecvError;
/// let (tx, rx) = gmp_exec::chan::bounded::<u32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// Nothing is queued now.
    Empty,
    /// Nothing is queued and every sender is gone.
    Closed,
}

/// What both ends can ask of the queue, and their `Debug`.
macro_rules! queue_view {
    ($end:ident) => {
        impl<T> $end<T> {
            /// Values queued now.
            ///
            /// ```
            /// let (tx, rx) = gmp_exec::chan::bounded(3);
            /// tx.try_send(1).unwrap();
            /// tx.try_send(2).unwrap();
            /// assert_eq!((tx.len(), rx.len()), (2, 2));
            /// ```
            pub fn len(&self) -> usize {
                self.chan.lock().items.len()
            }

            /// Whether nothing is queued now.
            ///
            /// ```
            /// let (tx, rx) = gmp_exec::chan::unbounded();
            /// assert!(rx.is_empty());
            /// tx.try_send("x").unwrap();
            /// assert!(!tx.is_empty());
            /// ```
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// The bound (`None`: unbounded).
            ///
            /// ```
            /// let (tx, _rx) = gmp_exec::chan::bounded::<u8>(8);
            /// assert_eq!(tx.capacity(), Some(8));
            /// let (_tx, rx) = gmp_exec::chan::unbounded::<u8>();
            /// assert_eq!(rx.capacity(), None);
            /// ```
            pub fn capacity(&self) -> Option<usize> {
                (self.chan.capacity != usize::MAX).then_some(self.chan.capacity)
            }
        }

        impl<T> fmt::Debug for $end<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($end))
                    .field("len", &self.len())
                    .field("capacity", &self.capacity())
                    .finish()
            }
        }
    };
}

queue_view!(Sender);
queue_view!(Receiver);

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full. Fails, giving the
    /// value back, once every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::bounded(1);
    /// let got = gmp_exec::block_on(async move {
    ///     let producer = gmp_exec::spawn(async move {
    ///         for word in ["one", "two"] {
    ///             tx.send(word).await.unwrap(); // waits for room
    ///         }
    ///     });
    ///     let first = rx.recv().await.unwrap();
    ///     let second = rx.recv().await.unwrap();
    ///     producer.await.unwrap();
    ///     (first, second)
    /// });
    /// assert_eq!(got, ("one", "two"));
    /// ```
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            chan: &self.chan,
            value: Some(value),
            parked: None,
        }
    }

    /// Sends `value` if there is room now.
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::bounded(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(matches!(tx.try_send(2), Err(gmp_exec::chan::TrySendError::Full(2))));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    ///
    /// On a rendezvous channel (`bounded(0)`), "room" is a parked receiver:
    /// the value is handed to it.
    ///
    /// ```
    /// use gmp_exec::chan::TrySendError;
    /// let (tx, rx) = gmp_exec::chan::bounded::<u8>(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1))); // no receiver waits
    /// # drop(rx);
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut st = self.chan.lock();
        if st.receivers == 0 {
            return Err(TrySendError::Closed(value));
        }
        if self.chan.capacity == 0 {
            if st.recvq.is_empty() {
                return Err(TrySendError::Full(value));
            }
            let wake = st.hand_off(value);
            unlock_then(st, None, wake);
            return Ok(());
        }
        if st.items.len() >= self.chan.capacity {
            return Err(TrySendError::Full(value));
        }
        let wake = st.push(value);
        unlock_then(st, None, wake);
        Ok(())
    }

    /// Whether every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::bounded::<i32>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().receivers == 0
    }
}

impl<T> Receiver<T> {
    /// Receives the oldest value, waiting while the channel is empty. Fails
    /// once the channel is closed and empty.
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::unbounded();
    /// let total = gmp_exec::block_on(async move {
    ///     gmp_exec::spawn(async move {
    ///         for i in 1..=4 {
    ///             tx.send(i).await.unwrap();
    ///         }
    ///     });
    ///     let mut total = 0;
    ///     while let Ok(i) = rx.recv().await {
    ///         total += i;
    ///     }
    ///     total
    /// });
    /// assert_eq!(total, 10);
    /// ```
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: &self.chan,
            parked: None,
        }
    }

    /// Receives the oldest value if one is queued now.
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::bounded(2);
    /// tx.try_send(7).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// assert_eq!(rx.try_recv(), Err(gmp_exec::chan::TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut st = self.chan.lock();
        match st.pop() {
            Some((value, wake)) => {
                unlock_then(st, None, wake);
                Ok(value)
            }
            None if st.senders == 0 => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Whether every sender is gone (values may still be queued).
    ///
    /// ```
    /// let (tx, rx) = gmp_exec::chan::bounded(1);
    /// tx.try_send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// assert_eq!(rx.try_recv(), Ok(1)); // queued values are still there
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.lock().senders == 0
    }
}

/// One receive attempt for a future whose queue entry is `slot`.
fn poll_recv<T>(
    chan: &Chan<T>,
    slot: &mut Option<u64>,
    cx: &Context<'_>,
) -> Poll<Result<T, RecvError>> {
    let mut st = chan.lock();
    if let Some((value, wake)) = st.pop() {
        let own = slot.take().and_then(|id| st.recvq.cancel(id));
        unlock_then(st, own, wake);
        return Poll::Ready(Ok(value));
    }
    if st.senders == 0 {
        let own = slot.take().and_then(|id| st.recvq.cancel(id));
        unlock_then(st, own, None);
        return Poll::Ready(Err(RecvError));
    }
    let old = st.recvq.park(slot, cx.waker());
    unlock_then(st, old, None);
    Poll::Pending
}

/// The future of [`Receiver::recv`].
///
/// ```
/// let (tx, rx) = gmp_exec::chan::bounded(1);
/// let recv: gmp_exec::chan::Recv<'_, u8> = rx.recv();
/// tx.try_send(3).unwrap();
/// assert_eq!(gmp_exec::block_on(recv), Ok(3));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
    parked: Option<u64>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_recv(this.chan, &mut this.parked, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        drop_parked_receiver(self.chan, &mut self.parked);
    }
}

/// A receiver's future goes away while parked: if it had been woken, a value
/// may be waiting that no other receiver was told of.
fn drop_parked_receiver<T>(chan: &Chan<T>, slot: &mut Option<u64>) {
    if slot.is_none() {
        return;
    }
    let mut st = chan.lock();
    let pass_on = !st.items.is_empty();
    let (own, wake) = leave(&mut st.recvq, slot, pass_on);
    unlock_then(st, own, wake);
}

/// The future of [`Sender::send`].
///
/// ```
/// let (tx, rx) = gmp_exec::chan::bounded(1);
/// let send: gmp_exec::chan::Send<'_, u8> = tx.send(4);
/// gmp_exec::block_on(send).unwrap();
/// assert_eq!(rx.try_recv(), Ok(4));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    parked: Option<u64>,
}

// The value is only moved, never pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.chan.capacity == 0 {
            return this.poll_rendezvous(cx);
        }
        let value = this
            .value
            .take()
            .expect("gmp::chan::Send polled after it completed");
        let mut st = this.chan.lock();
        if st.receivers == 0 {
            let own = this.parked.take().and_then(|id| st.sendq.cancel(id));
            unlock_then(st, own, None);
            return Poll::Ready(Err(SendError(value)));
        }
        if st.items.len() < this.chan.capacity {
            let own = this.parked.take().and_then(|id| st.sendq.cancel(id));
            let wake = st.push(value);
            unlock_then(st, own, wake);
            return Poll::Ready(Ok(()));
        }
        let old = st.sendq.park(&mut this.parked, cx.waker());
        unlock_then(st, old, None);
        this.value = Some(value);
        Poll::Pending
    }
}

impl<T> Send<'_, T> {
    /// Whether a receiver took this send's value (rendezvous channels) or the
    /// value is queued (buffered ones): the send happened, whether or not the
    /// future was polled to its end since. For a rendezvous send in a
    /// `select!` (see [the module docs](self#waiting-on-several-operations-gos-select)).
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// let (tx, rx) = gmp_exec::chan::bounded::<u8>(0);
    /// let mut send = tx.send(9);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(std::pin::Pin::new(&mut send).poll(&mut cx).is_pending()); // offered
    /// assert!(!send.is_taken());
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// assert!(send.is_taken()); // taken: dropping the future now undoes nothing
    /// ```
    pub fn is_taken(&self) -> bool {
        if self.value.is_some() {
            return false;
        }
        match self.parked {
            // Offered: taken once the value left the queue.
            Some(id) if self.chan.capacity == 0 => self.chan.lock().offered(id).is_none(),
            // Completed (a buffered send is never parked without its value).
            _ => true,
        }
    }

    /// `poll` on a rendezvous channel.
    fn poll_rendezvous(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let mut st = self.chan.lock();
        if let Some(id) = self.parked {
            // Our value is offered (`self.value` is empty): taken yet?
            if st.offered(id).is_none() {
                // A receiver took it and woke us (our entry is gone), or is
                // about to wake us: take the entry out either way.
                self.parked = None;
                let own = st.sendq.cancel(id);
                unlock_then(st, own, None);
                return Poll::Ready(Ok(()));
            }
            if st.receivers == 0 {
                let value = st.withdraw(id).expect("offered");
                self.parked = None;
                let own = st.sendq.cancel(id);
                unlock_then(st, own, None);
                return Poll::Ready(Err(SendError(value)));
            }
            // Still offered: refresh the waker.
            let old = st.sendq.park(&mut self.parked, cx.waker());
            unlock_then(st, old, None);
            return Poll::Pending;
        }
        let value = self
            .value
            .take()
            .expect("gmp::chan::Send polled after it completed");
        if st.receivers == 0 {
            drop(st);
            return Poll::Ready(Err(SendError(value)));
        }
        if !st.recvq.is_empty() {
            let wake = st.hand_off(value);
            unlock_then(st, None, wake);
            return Poll::Ready(Ok(()));
        }
        // Offer it, parked beside it, until a receiver takes it.
        let old = st.sendq.park(&mut self.parked, cx.waker());
        let id = self.parked.expect("just parked");
        st.items.push_back(value);
        st.offers.push_back(id);
        unlock_then(st, old, None);
        Poll::Pending
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if self.parked.is_none() {
            return;
        }
        if self.chan.capacity == 0 {
            // Withdraw the value if no receiver took it; dropped (with our
            // waker) once the lock is released.
            let id = self.parked.take().expect("checked");
            let mut st = self.chan.lock();
            let value = st.withdraw(id);
            let own = st.sendq.cancel(id);
            drop(st);
            drop(own);
            drop(value);
            return;
        }
        let mut st = self.chan.lock();
        let pass_on = st.items.len() < self.chan.capacity;
        let (own, wake) = leave(&mut st.sendq, &mut self.parked, pass_on);
        unlock_then(st, own, wake);
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        poll_recv(&this.chan, &mut this.stream, cx).map(Result::ok)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.lock().senders += 1;
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.lock().receivers += 1;
        Receiver {
            chan: self.chan.clone(),
            stream: None,
        }
    }
}

/// One end goes away: counts it out of `ends`, and if it was the last of its
/// kind, takes every G parked on the other side (`waiters`) to wake once the
/// lock is released.
fn end_gone(ends: &mut usize, waiters: &mut Waiters) -> Vec<Waker> {
    *ends -= 1;
    if *ends == 0 {
        waiters.drain()
    } else {
        Vec::new()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut guard = self.chan.lock();
        let st = &mut *guard;
        // The last sender closes the channel: every parked receiver wakes to
        // take what is left or see the close.
        let wakes = end_gone(&mut st.senders, &mut st.recvq);
        drop(guard);
        wakes.into_iter().for_each(Waker::wake);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop_parked_receiver(&self.chan, &mut self.stream);
        let mut guard = self.chan.lock();
        let st = &mut *guard;
        // The last receiver gone: parked senders wake to get their value back.
        let wakes = end_gone(&mut st.receivers, &mut st.sendq);
        drop(guard);
        wakes.into_iter().for_each(Waker::wake);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a channel whose receivers are all gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => {
                f.write_str("sending on a channel whose receivers are all gone")
            }
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a closed and empty channel")
    }
}

impl std::error::Error for RecvError {}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Closed => f.write_str("receiving on a closed and empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}
