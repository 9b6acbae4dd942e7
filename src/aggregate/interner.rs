//! Aggregate: string interning. Table keys are small `u32` ids, so the hot path hashes a string
//! once per field and the tables hash integers; merging remaps one interner's ids onto another's.
//! Keys compare with an inline word-at-a-time equality: they are short, and a libc `memcmp`
//! call per lookup showed up as the top cost of aggregation.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;

/// A string key whose equality is inlined.
#[derive(Debug)]
#[repr(transparent)]
pub struct Key(str);

impl Key {
    /// Views a `&str` as a `&Key`.
    #[must_use]
    pub fn new(s: &str) -> &Key {
        // SAFETY: `Key` is `repr(transparent)` over `str`.
        unsafe { &*(std::ptr::from_ref::<str>(s) as *const Key) }
    }
}

/// Equality of two byte strings, eight bytes at a time, without a libc call.
#[inline]
#[must_use]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (ca, ra) = a.as_chunks::<8>();
    let (cb, rb) = b.as_chunks::<8>();
    ca.iter()
        .zip(cb)
        .all(|(x, y)| u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y))
        && ra == rb
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        same(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.hash(h);
    }
}

/// An owned [`Key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyBuf(Box<str>);

impl KeyBuf {
    /// The string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialOrd for KeyBuf {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for KeyBuf {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

impl Borrow<Key> for KeyBuf {
    fn borrow(&self) -> &Key {
        Key::new(&self.0)
    }
}

impl From<&str> for KeyBuf {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}

/// Maps strings to dense `u32` ids and back.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<KeyBuf, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The id of `s`, adding it on first sight (the only allocation).
    ///
    /// # Panics
    /// At the 2^32nd distinct string (ids are `u32`).
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(Key::new(s)) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 4 billion distinct strings");
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The id of `s` if it is interned already (never adds).
    #[must_use]
    pub fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(Key::new(s)).copied()
    }

    /// The string of an id (plain or typed, [`super::ids`]).
    #[must_use]
    pub fn name(&self, id: impl Into<u32>) -> &str {
        &self.names[id.into() as usize]
    }

    /// For each id of `other`, the id of the same string here.
    pub fn remap(&mut self, other: &Interner) -> Vec<u32> {
        other.names.iter().map(|n| self.id(n)).collect()
    }

    /// How many strings are interned.
    #[must_use]
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is interned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality_and_ids() {
        assert!(same(
            b"kube-controller-manager/x",
            b"kube-controller-manager/x"
        ));
        assert!(!same(
            b"kube-controller-manager/x",
            b"kube-controller-manager/y"
        ));
        assert!(!same(b"abc", b"abcd"));
        assert!(same(b"", b""));
        let mut i = Interner::default();
        let a = i.id("pods");
        assert_eq!(i.id("pods"), a);
        assert_ne!(i.id("pods/status"), a);
        assert_eq!(i.name(a), "pods");
    }
}
