//! Questions asked at the same moment are embedded together.
//!
//! A question's embedding is a forward pass of a few tokens, and most of its cost is reading the
//! model's weights, whatever the number of texts in the batch: `cargo bench -p sitechat-embed`
//! measures one short query at about 10 ms and 32 in one call at about 300 a second. candle's
//! thread pool runs one caller's pass at a time anyway, so callers that arrive while a pass runs
//! would only queue behind it. Here the first caller to find no pass running runs one for every
//! question waiting (of its model, up to [`MAX_BATCH`]); the others wait for their results.
//! Nothing runs in the background: the work is done by the threads that asked for it.

use std::{
    collections::HashMap,
    sync::{Condvar, Mutex, MutexGuard},
};

/// At most this many questions in one pass (a batch of longer texts is split further by the
/// embedder, by length).
pub const MAX_BATCH: usize = 32;

/// Texts waiting to be embedded together, with the key (the model) that must be the same for a
/// batch, and the pass that embeds them.
pub struct Batcher<K> {
    state: Mutex<Waiting<K>>,
    ready: Condvar,
}

struct Waiting<K> {
    /// Texts not yet taken into a pass, in the order asked: ticket, key, text.
    asked: Vec<(u64, K, String)>,
    /// The outcome of each finished ticket, until its asker takes it.
    done: HashMap<u64, Result<Vec<f32>, String>>,
    /// Whether a pass is running now.
    busy: bool,
    next: u64,
}

impl<K: Copy + Eq> Default for Batcher<K> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Waiting {
                asked: Vec::new(),
                done: HashMap::new(),
                busy: false,
                next: 0,
            }),
            ready: Condvar::new(),
        }
    }
}

/// Marks the pass finished however it ends (a panic in the pass included), so that waiting
/// callers do not wait for ever.
struct Running<'a, K> {
    batcher: &'a Batcher<K>,
    outcomes: Vec<(u64, Result<Vec<f32>, String>)>,
    taken: Vec<u64>,
}

impl<K> Drop for Running<'_, K> {
    fn drop(&mut self) {
        let mut state = self.batcher.lock();
        let mut finished: HashMap<u64, _> = self.outcomes.drain(..).collect();
        for ticket in self.taken.drain(..) {
            let outcome = finished
                .remove(&ticket)
                .unwrap_or_else(|| Err("the embedding pass stopped".to_owned()));
            state.done.insert(ticket, outcome);
        }
        state.busy = false;
        drop(state);
        self.batcher.ready.notify_all();
    }
}

impl<K> Batcher<K> {
    fn lock(&self) -> MutexGuard<'_, Waiting<K>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K: Copy + Eq> Batcher<K> {
    /// Embeds `texts` with the model `key` names, together with whatever other callers ask for
    /// meanwhile: `pass` embeds one batch of one key's texts. Blocks.
    pub fn embed(
        &self,
        key: K,
        texts: &[&str],
        pass: impl Fn(K, &[&str]) -> Result<Vec<Vec<f32>>, String>,
    ) -> Result<Vec<Vec<f32>>, String> {
        let mut state = self.lock();
        let tickets: Vec<u64> = texts
            .iter()
            .map(|text| {
                let ticket = state.next;
                state.next += 1;
                state.asked.push((ticket, key, (*text).to_owned()));
                ticket
            })
            .collect();
        loop {
            if tickets.iter().all(|t| state.done.contains_key(t)) {
                return tickets
                    .iter()
                    .map(|t| state.done.remove(t).unwrap_or_else(|| Err(String::new())))
                    .collect();
            }
            if state.busy {
                state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Run one pass: the oldest waiting text's key, and every waiting text of that key.
            let Some(&(_, batch_key, _)) = state.asked.first() else {
                // A pass records every ticket it took before it is no longer busy, so ours are
                // either done or waiting: this cannot happen.
                return Err("lost among the questions being embedded".to_owned());
            };
            let mut batch = Vec::new();
            let mut rest = Vec::new();
            for item in state.asked.drain(..) {
                if item.1 == batch_key && batch.len() < MAX_BATCH {
                    batch.push(item);
                } else {
                    rest.push(item);
                }
            }
            state.asked = rest;
            state.busy = true;
            drop(state);
            let mut running = Running {
                batcher: self,
                outcomes: Vec::new(),
                taken: batch.iter().map(|(t, _, _)| *t).collect(),
            };
            let refs: Vec<&str> = batch.iter().map(|(_, _, text)| text.as_str()).collect();
            match pass(batch_key, &refs) {
                Ok(vectors) if vectors.len() == batch.len() => {
                    running.outcomes = batch
                        .iter()
                        .zip(vectors)
                        .map(|((t, _, _), v)| (*t, Ok(v)))
                        .collect();
                }
                Ok(vectors) => {
                    let e = format!("{} vectors for {} texts", vectors.len(), batch.len());
                    running.outcomes = batch.iter().map(|(t, _, _)| (*t, Err(e.clone()))).collect();
                }
                Err(e) => {
                    running.outcomes = batch.iter().map(|(t, _, _)| (*t, Err(e.clone()))).collect();
                }
            }
            drop(running);
            state = self.lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Barrier,
    };

    use super::*;

    /// A pass that "embeds" a text as its length, keyed, and counts its passes and their sizes.
    fn lengths<'a>(
        passes: &'a AtomicUsize,
        largest: &'a AtomicUsize,
    ) -> impl Fn(u8, &[&str]) -> Result<Vec<Vec<f32>>, String> + 'a {
        move |key, texts| {
            passes.fetch_add(1, Ordering::SeqCst);
            largest.fetch_max(texts.len(), Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            if texts.contains(&"fail") {
                return Err("refused".into());
            }
            Ok(texts
                .iter()
                .map(|t| vec![f32::from(key), t.len() as f32])
                .collect())
        }
    }

    #[test]
    fn callers_at_the_same_moment_share_passes_and_each_gets_its_own_vectors() {
        let batcher = Arc::new(Batcher::<u8>::default());
        let (passes, largest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let start = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let (batcher, passes, largest, start) = (
                    batcher.clone(),
                    passes.clone(),
                    largest.clone(),
                    start.clone(),
                );
                std::thread::spawn(move || {
                    let text = "x".repeat(i + 1);
                    let key = (i % 2) as u8;
                    start.wait();
                    let got = batcher
                        .embed(key, &[&text, "ab"], lengths(&passes, &largest))
                        .unwrap();
                    assert_eq!(
                        got,
                        vec![
                            vec![f32::from(key), (i + 1) as f32],
                            vec![f32::from(key), 2.0]
                        ]
                    );
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let passes = passes.load(Ordering::SeqCst);
        assert!(passes < 16, "{passes} passes for 16 callers");
        assert!(largest.load(Ordering::SeqCst) <= MAX_BATCH);
    }

    #[test]
    fn a_failed_pass_fails_its_callers_and_the_next_ones_go_on() {
        let batcher = Batcher::<u8>::default();
        let (passes, largest) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let err = batcher.embed(1, &["fail"], lengths(&passes, &largest));
        assert_eq!(err, Err("refused".to_owned()));
        let ok = batcher.embed(1, &["abc"], lengths(&passes, &largest));
        assert_eq!(ok, Ok(vec![vec![1.0, 3.0]]));
        // A pass that panics leaves no caller waiting.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            batcher.embed(1, &["boom"], |_, _| panic!("pass panicked"))
        }));
        assert!(panicked.is_err());
        let ok = batcher.embed(2, &["de"], lengths(&passes, &largest));
        assert_eq!(ok, Ok(vec![vec![2.0, 2.0]]));
    }
}
