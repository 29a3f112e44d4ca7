//! The order in which a searching M visits the other Ps: Go's `randomOrder`.
//!
//! Each search starts at a random P and walks with a random stride that is
//! co-prime to the number of Ps, so it visits every P exactly once, and two Ms
//! that start searching at the same moment almost never walk in lockstep (which
//! would make them fight over the same victim).

use crate::error::ConfigError;

/// Precomputed co-prime strides for `count` Ps.
///
/// ```
/// use gmp_core::steal_order::{FastRand, StealOrder};
///
/// let order = StealOrder::new(6).unwrap();
/// let mut rand = FastRand::new(1);
/// let mut visited: Vec<usize> = order.start(rand.next_u32()).collect();
/// visited.sort_unstable();
/// assert_eq!(visited, [0, 1, 2, 3, 4, 5]); // every P, once
/// ```
#[derive(Debug, Clone)]
pub struct StealOrder {
    count: u32,
    coprimes: Vec<u32>,
}

impl StealOrder {
    /// The order for `count` Ps; `count` must be at least 1.
    ///
    /// ```
    /// use gmp_core::{steal_order::StealOrder, ConfigError};
    ///
    /// assert_eq!(StealOrder::new(4).unwrap().count(), 4);
    /// assert_eq!(StealOrder::new(0).unwrap_err(), ConfigError::ZeroProcs);
    /// ```
    pub fn new(count: usize) -> Result<Self, ConfigError> {
        if count == 0 {
            return Err(ConfigError::ZeroProcs);
        }
        let count = u32::try_from(count).map_err(|_| ConfigError::CapacityOutOfRange(count))?;
        let coprimes = (1..=count).filter(|&i| gcd(i, count) == 1).collect();
        Ok(StealOrder { count, coprimes })
    }

    /// The number of Ps.
    ///
    /// ```
    /// let order = gmp_core::steal_order::StealOrder::new(3).unwrap();
    /// assert_eq!(order.count(), 3);
    /// assert_eq!(order.start(0).len(), 3);
    /// ```
    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// A walk over all Ps, chosen by `random`.
    ///
    /// ```
    /// let order = gmp_core::steal_order::StealOrder::new(5).unwrap();
    /// let walk: Vec<usize> = order.start(7).collect();
    /// assert_eq!(walk[0], 7 % 5); // starts at `random % count`
    /// assert_eq!(walk.len(), 5);
    /// ```
    pub fn start(&self, random: u32) -> StealWalk {
        StealWalk {
            count: self.count,
            pos: random % self.count,
            inc: self.coprimes[(random / self.count) as usize % self.coprimes.len()],
            left: self.count,
        }
    }
}

/// One walk over every P; yields P indices.
///
/// ```
/// let order = gmp_core::steal_order::StealOrder::new(4).unwrap();
/// let mut walk = order.start(9);
/// assert_eq!(walk.len(), 4);
/// walk.next();
/// assert_eq!(walk.len(), 3);
/// assert_eq!(walk.count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct StealWalk {
    count: u32,
    pos: u32,
    inc: u32,
    left: u32,
}

impl Iterator for StealWalk {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let here = self.pos;
        self.pos = ((u64::from(self.pos) + u64::from(self.inc)) % u64::from(self.count)) as u32;
        Some(here as usize)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for StealWalk {}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A small, fast, per-thread random source (Go's `fastrand`, here wyrand).
///
/// Not for cryptography: it picks steal victims and randomises schedules.
///
/// ```
/// use gmp_core::steal_order::FastRand;
///
/// let (mut a, mut b) = (FastRand::new(42), FastRand::new(42));
/// assert_eq!(a.next_u32(), b.next_u32()); // same seed, same sequence
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FastRand {
    state: u64,
}

impl FastRand {
    /// A generator seeded with `seed` (any value, zero included).
    ///
    /// ```
    /// use gmp_core::steal_order::FastRand;
    ///
    /// let mut zero = FastRand::new(0);
    /// let mut one = FastRand::new(1);
    /// assert_ne!(zero.next_u32(), one.next_u32());
    /// ```
    pub fn new(seed: u64) -> Self {
        FastRand { state: seed }
    }

    /// The next 32 random bits.
    ///
    /// ```
    /// let mut rand = gmp_core::steal_order::FastRand::new(7);
    /// let draws: std::collections::HashSet<u32> = (0..100).map(|_| rand.next_u32()).collect();
    /// assert!(draws.len() > 90);
    /// ```
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64 ^ t as u64) as u32
    }

    /// A value in `0..n` (`n > 0`), by Lemire's multiply-shift.
    ///
    /// ```
    /// let mut rand = gmp_core::steal_order::FastRand::new(3);
    /// assert!((0..1000).all(|_| rand.below(6) < 6));
    /// assert_eq!(rand.below(1), 0);
    /// ```
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_walk_visits_every_p_once() {
        // Under miri (ci/miri.sh) a few walks per size are plenty.
        let walks = if cfg!(miri) { 3 } else { 200 };
        for count in 1..=33 {
            let order = StealOrder::new(count).unwrap();
            let mut rand = FastRand::new(count as u64);
            for _ in 0..walks {
                let mut seen: Vec<usize> = order.start(rand.next_u32()).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..count).collect::<Vec<_>>(), "count {count}");
            }
        }
    }

    #[test]
    fn walks_differ() {
        let order = StealOrder::new(8).unwrap();
        let mut rand = FastRand::new(7);
        let firsts: std::collections::HashSet<Vec<usize>> = (0..64)
            .map(|_| order.start(rand.next_u32()).collect())
            .collect();
        assert!(firsts.len() > 8, "only {} distinct walks", firsts.len());
    }

    #[test]
    fn zero_procs_is_refused() {
        assert_eq!(StealOrder::new(0).unwrap_err(), ConfigError::ZeroProcs);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rand = FastRand::new(1);
        for n in 1..100 {
            for _ in 0..100 {
                assert!(rand.below(n) < n);
            }
        }
    }
}
