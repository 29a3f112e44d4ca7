//! The poller's key table: from the `usize` key the OS hands back with an event
//! to the registration it belongs to.
//!
//! A key is a slot index plus the slot's generation, Go's `pollDesc.fdseq`: when a
//! registration goes, its slot's generation moves on, so an event that the OS
//! reported for it just before (and that a poll is about to dispatch) finds a
//! key that no longer matches and is dropped, even if the slot already serves
//! a new registration. Freed slots are reused (last freed, first reused), so the
//! table stays as large as the most registrations alive at once.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use super::raw::RawSource;
use super::registration::Source;

/// Bits of a key that hold the slot index; the rest hold the generation.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slot indices stop one short of all ones, so no key equals `usize::MAX`
/// (which both backends keep for their wake-up).
const MAX_SLOTS: usize = INDEX_MASK;

struct Slot {
    generation: usize,
    source: Option<Arc<Source>>,
}

/// Registrations by key. Lives under the reactor's `sources` lock.
#[derive(Default)]
pub(crate) struct Keys {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    /// The descriptors registered now: a second registration of one would
    /// be refused by epoll (`EEXIST`) but silently take the first one's
    /// place under kqueue (`EV_ADD` modifies), losing its wake-ups. One
    /// check here makes it an error on every backend.
    fds: HashSet<RawSource>,
}

impl Keys {
    /// Stores the source that `make` builds for `fd` under the next free
    /// key; `AlreadyExists` if `fd` is registered already.
    pub(crate) fn insert(
        &mut self,
        fd: RawSource,
        make: impl FnOnce(usize) -> Arc<Source>,
    ) -> io::Result<Arc<Source>> {
        if self.fds.contains(&fd) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "fd {fd} is already registered with this runtime's netpoller (a socket or \
                     AsyncFd holds it): a second registration would steal its wake-ups"
                ),
            ));
        }
        let index = match self.free.pop() {
            Some(index) => index,
            None if self.slots.len() < MAX_SLOTS => {
                self.slots.push(Slot {
                    generation: 0,
                    source: None,
                });
                self.slots.len() - 1
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!("gmp-netpoll: more than {MAX_SLOTS} registrations at once"),
                ))
            }
        };
        let slot = &mut self.slots[index];
        let key = (slot.generation << INDEX_BITS) | index;
        let source = make(key);
        slot.source = Some(source.clone());
        self.fds.insert(fd);
        self.live += 1;
        Ok(source)
    }

    /// The source registered under `key`, unless it has been removed since.
    pub(crate) fn get(&self, key: usize) -> Option<&Arc<Source>> {
        let slot = self.slots.get(key & INDEX_MASK)?;
        if slot.generation == key >> INDEX_BITS {
            slot.source.as_ref()
        } else {
            None
        }
    }

    /// Removes the source under `key`; the caller drops it outside the lock.
    pub(crate) fn remove(&mut self, key: usize) -> Option<Arc<Source>> {
        let index = key & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != key >> INDEX_BITS {
            return None;
        }
        let source = slot.source.take()?;
        self.fds.remove(&source.fd);
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        self.free.push(index);
        self.live -= 1;
        Some(source)
    }

    /// The number of live registrations.
    pub(crate) fn len(&self) -> usize {
        self.live
    }
}
