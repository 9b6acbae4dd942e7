//! Typed ids of interned strings for the keys tables are kept by, so that a client's id cannot
//! stand where a resource's is meant. Each is the [`super::interner::Interner`] id of its name.

/// Declares a typed interned id.
macro_rules! interned_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The id of the same name in the interner `remap` maps another worker's ids into
            /// ([`super::interner::Interner::remap`]).
            #[must_use]
            pub fn remap(self, remap: &[u32]) -> Self {
                Self(remap[self.0 as usize])
            }
        }

        impl From<$name> for u32 {
            fn from(id: $name) -> u32 {
                id.0
            }
        }
    };
}

interned_id!(
    /// A client ([`crate::decode::client::client_name`]), or `(other clients)` past the cap.
    ClientId
);
interned_id!(
    /// A resource qualified by its API group as kubectl names it (`pods`, `deployments.apps`).
    ResourceId
);
