//! Arbitrary sequences of run-queue operations (push, push as runnext, pop,
//! steal with and without runnext, spill to and take from the global queue)
//! replayed against a `VecDeque` model; every result must match the model.
//!
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run runq` (from the repository root).
#![no_main]

use std::collections::VecDeque;

use gmp_core::global::Global;
use gmp_core::runq::{self, Local, Pushed, StealRunnext, Stealer};
use libfuzzer_sys::fuzz_target;

/// The model of one P's queue: the ring as a deque, plus runnext.
#[derive(Default)]
struct Model {
    ring: VecDeque<u32>,
    next: Option<u32>,
}

struct Harness {
    cap: usize,
    global: Global<Box<u32>>,
    model_global: VecDeque<u32>,
    ps: Vec<(Local<Box<u32>>, Stealer<Box<u32>>, Model)>,
    next_id: u32,
}

impl Harness {
    fn push_back_model(&mut self, p: usize, id: u32) -> Pushed {
        let cap = self.cap;
        let m = &mut self.ps[p].2;
        if m.ring.len() < cap {
            m.ring.push_back(id);
            Pushed::Ring
        } else {
            let half = cap / 2;
            self.model_global.extend(m.ring.drain(..half));
            self.model_global.push_back(id);
            Pushed::Overflow(half + 1)
        }
    }

    fn op(&mut self, p: usize, code: u8, arg: u8) {
        let n = self.ps.len();
        match code % 7 {
            0 => {
                let id = self.fresh();
                let got = self.ps[p].0.push_back(Box::new(id), &self.global);
                let want = self.push_back_model(p, id);
                assert_eq!(got, want);
            }
            1 => {
                let id = self.fresh();
                let got = self.ps[p].0.push_next(Box::new(id), &self.global);
                let want = match self.ps[p].2.next.replace(id) {
                    None => Pushed::Runnext,
                    Some(old) => self.push_back_model(p, old),
                };
                assert_eq!(got, want);
            }
            2 => {
                let got = self.ps[p].0.pop().map(|(g, inherit)| (*g, inherit));
                let m = &mut self.ps[p].2;
                let want = match m.next.take() {
                    Some(id) => Some((id, true)),
                    None => m.ring.pop_front().map(|id| (id, false)),
                };
                assert_eq!(got, want);
            }
            3 | 4 => {
                let victim = arg as usize % n;
                let policy = if code % 7 == 4 { StealRunnext::AfterGrace } else { StealRunnext::No };
                let stealer = self.ps[victim].1.clone();
                let got = stealer.steal_into(&mut self.ps[p].0, policy).map(|(g, k)| (*g, k));
                let want = self.steal_model(victim, p, policy);
                assert_eq!(got, want);
            }
            5 => {
                let victim = arg as usize % n;
                let got = self.ps[victim].1.pop().map(|g| *g);
                let m = &mut self.ps[victim].2;
                let want = m.ring.pop_front().or_else(|| m.next.take());
                assert_eq!(got, want);
            }
            _ => {
                let procs = 1 + arg as usize % 8;
                let max = (arg / 8) as usize % 3;
                let got = self.global.grab_into(&mut self.ps[p].0, procs, max).map(|(g, k)| (*g, k));
                let want = self.grab_model(p, procs, max);
                assert_eq!(got, want);
            }
        }
        for (local, stealer, m) in &self.ps {
            let len = m.ring.len() + usize::from(m.next.is_some());
            assert_eq!(local.len(), len);
            assert_eq!(stealer.is_empty(), len == 0);
        }
        assert_eq!(self.global.len(), self.model_global.len());
    }

    fn fresh(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn steal_model(&mut self, victim: usize, thief: usize, policy: StealRunnext) -> Option<(u32, usize)> {
        if victim == thief {
            return None;
        }
        let room = self.cap - self.ps[thief].2.ring.len();
        if room == 0 {
            return None;
        }
        let avail = self.ps[victim].2.ring.len();
        let k = (avail - avail / 2).min(room);
        if k == 0 {
            if policy == StealRunnext::AfterGrace {
                return self.ps[victim].2.next.take().map(|id| (id, 1));
            }
            return None;
        }
        let mut taken: Vec<u32> = self.ps[victim].2.ring.drain(..k).collect();
        let last = taken.pop().unwrap();
        self.ps[thief].2.ring.extend(taken);
        Some((last, k))
    }

    fn grab_model(&mut self, p: usize, procs: usize, max: usize) -> Option<(u32, usize)> {
        let len = self.model_global.len();
        if len == 0 {
            return None;
        }
        let mut k = (len / procs + 1).min(len);
        if max > 0 {
            k = k.min(max);
        }
        k = k.min(self.cap / 2).max(1);
        let first = self.model_global.pop_front().unwrap();
        let room = self.cap - self.ps[p].2.ring.len();
        let rest = (k - 1).min(room);
        let moved: Vec<u32> = self.model_global.drain(..rest).collect();
        self.ps[p].2.ring.extend(moved);
        Some((first, rest + 1))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, ops)) = data.split_first() else { return };
    let cap = 2usize << (shape % 4); // 2, 4, 8, 16
    let procs = 1 + (shape / 4) as usize % 3;
    let mut h = Harness {
        cap,
        global: Global::new(),
        model_global: VecDeque::new(),
        ps: (0..procs)
            .map(|_| {
                let (l, s) = runq::with_capacity(cap).unwrap();
                (l, s, Model::default())
            })
            .collect(),
        next_id: 0,
    };
    for chunk in ops.chunks_exact(2) {
        let p = (chunk[0] >> 4) as usize % procs;
        h.op(p, chunk[0] & 0x0f, chunk[1]);
    }
});
