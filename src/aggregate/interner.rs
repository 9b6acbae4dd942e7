//! Aggregate: string interning. Table keys are small `u32` ids, so the hot path hashes a string
//! once per field and the tables hash integers; merging remaps one interner's ids onto another's.

use rustc_hash::FxHashMap;

/// Maps strings to dense `u32` ids and back.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    /// The id of `s`, adding it on first sight (the only allocation).
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 4 billion distinct strings");
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    /// The string of an id.
    #[must_use]
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
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
