//! A template's resources while it is made: by logical id, in the order they
//! are added, each id found by its hash; in id order once, when the template
//! is assembled. A large landscape adds tens of thousands (78,000 at
//! N = 10,000), and an ordered map compared ids, which share long prefixes
//! (`Svc1234…`), at every level of its tree for each insertion and lookup,
//! most of them cache misses once the tree outgrew the caches.

use crate::emit::json::Json;
use std::hash::BuildHasher;

/// The component a resource goes with when the template is split, by its
/// position among the plan's workloads (`None`: it stays in the root).
#[derive(Clone, Copy)]
pub(crate) enum Owner {
    /// Placed with a component, whatever its id says (a route's target
    /// group goes with the service it routes to); kept if the id is added
    /// again without a place.
    Placed(Option<usize>),
    /// The component its id's prefix names.
    Named(Option<usize>),
}

#[derive(Default)]
pub(crate) struct Resources {
    /// The resources, as added (one added again under the same id replaces
    /// the first, in its place).
    entries: Vec<(String, Json)>,
    /// Each entry's owner, found as it is added, while its id is still in
    /// the cache: found afterwards for every resource of a large template,
    /// it was a pass of cache misses on one core (16 ms at N = 10,000).
    owners: Vec<Owner>,
    /// Each entry's id's first bytes as a number ([`leading`]), taken as it
    /// is added for the same reason: the sort reads these, not the ids.
    leads: Vec<u128>,
    /// The position of the first entry whose id has each hash, the ids held
    /// once, in `entries`.
    first: crate::IdMap<u64, usize>,
    /// For each entry, the next one whose id has the same hash, if any.
    next: Vec<Option<usize>>,
}

fn hash(id: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(id)
}

impl Resources {
    fn position(&self, id: &str) -> Option<usize> {
        self.position_hashed(hash(id), id)
    }

    /// [`Resources::position`], `h` being the hash of `id`.
    fn position_hashed(&self, h: u64, id: &str) -> Option<usize> {
        let mut at = self.first.get(&h).copied();
        while let Some(i) = at {
            if self.entries[i].0 == id {
                return Some(i);
            }
            at = self.next[i];
        }
        None
    }

    /// Adds `resource` under `id`, owned by `owner`, in place of the one
    /// already there if any.
    pub fn insert(&mut self, id: String, resource: Json, owner: Owner) {
        self.insert_hashed(hash(&id), id, resource, owner);
    }

    /// [`Resources::insert`], `h` being the hash of `id`.
    fn insert_hashed(&mut self, h: u64, id: String, resource: Json, owner: Owner) {
        if let Some(i) = self.position_hashed(h, &id) {
            self.entries[i].1 = resource;
            if matches!(owner, Owner::Placed(_)) || matches!(self.owners[i], Owner::Named(_)) {
                self.owners[i] = owner;
            }
            return;
        }
        let i = self.entries.len();
        let earlier = self.first.insert(h, i);
        self.next.push(earlier);
        self.leads.push(leading(&id));
        self.entries.push((id, resource));
        self.owners.push(owner);
    }

    pub fn get(&self, id: &str) -> Option<&Json> {
        self.position(id).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Json> {
        self.position(id).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, id: &str) -> bool {
        self.position(id).is_some()
    }

    /// In the order they were added, not by id.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.entries.iter().map(|(id, r)| (id, r))
    }

    /// In the order they were added, not by id.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut Json)> {
        self.entries.iter_mut().map(|(id, r)| (&*id, r))
    }

    /// In the order they were added, not by id.
    pub fn values(&self) -> impl Iterator<Item = &Json> {
        self.entries.iter().map(|(_, r)| r)
    }

    /// In the order they were added, not by id.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Json> {
        self.entries.iter_mut().map(|(_, r)| r)
    }

    /// The resources in id order (as `str`s compare), and the owner of
    /// each. Sorted by the first sixteen bytes of each id, held beside its
    /// position, and by the whole ids only where those are equal: the ids
    /// themselves are read only then, not at every comparison.
    pub fn into_sorted(self) -> (Vec<(String, Json)>, Vec<Option<usize>>) {
        let mut order: Vec<(u128, usize)> = self.leads.iter().copied().zip(0..).collect();
        let entries = &self.entries;
        order.sort_unstable_by(|(a, i), (b, j)| {
            a.cmp(b)
                .then_with(|| entries[*i].0.as_str().cmp(entries[*j].0.as_str()))
        });
        let owners = order
            .iter()
            .map(|&(_, i)| match self.owners[i] {
                Owner::Placed(o) | Owner::Named(o) => o,
            })
            .collect();
        let mut slots: Vec<Option<(String, Json)>> = self.entries.into_iter().map(Some).collect();
        let sorted = order
            .into_iter()
            .filter_map(|(_, i)| slots[i].take())
            .collect();
        (sorted, owners)
    }
}

/// The first sixteen bytes of `id` as a number that orders as they do (big
/// endian), zeros after a shorter id: two ids whose numbers differ order as
/// the numbers do (where one id ends, its zero is below any byte of the other
/// but a zero byte, and equal numbers leave the order to the whole ids).
/// Sixteen, not eight: a component's resources share their first eight
/// (`Svc1234T…`), and each tie read both ids, cache misses at N = 10,000.
fn leading(id: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = id.len().min(16);
    bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::{Owner, Resources, leading};
    use crate::emit::json::Json;

    fn named(n: i64) -> Json {
        Json::from(serde_json::json!(n))
    }

    /// Sorted as `str`s order, whatever order the ids came in: ids that share
    /// their first sixteen bytes, ids that end within them, one a prefix of
    /// another, bytes beyond ASCII, and a zero byte.
    #[test]
    fn resources_come_out_in_the_order_str_gives() {
        let ids = [
            "Svc1234TaskDefinition",
            "Svc1234Service",
            "Svc123",
            "Svc12",
            "Svc1234TaskRole",
            "Svc1234T",
            "Svc1234",
            "Db1",
            "A",
            "",
            "Svc1234\u{0}X",
            "Svc1234\u{0}",
            "Ünïcode",
            "Svc1234TaskDefinitionB",
            "svc",
        ];
        let mut resources = Resources::default();
        for (n, id) in ids.iter().enumerate() {
            resources.insert(id.to_string(), named(n as i64), Owner::Named(None));
        }
        let sorted: Vec<String> = resources
            .into_sorted()
            .0
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut expected: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
        expected.sort();
        assert_eq!(sorted, expected);
        assert!(leading("Svc1234") < leading("Svc1234\u{1}"));
        assert!(leading("Svc12") < leading("Svc123"));
    }

    /// An id added again replaces its resource in place; lookups find every
    /// id, and none that was never added, even when ids share a hash.
    #[test]
    fn an_id_added_again_replaces_its_resource() {
        let mut resources = Resources::default();
        for n in 0..2_000 {
            resources.insert(
                format!("Svc{n}Service"),
                named(n),
                Owner::Named(Some(n as usize)),
            );
        }
        resources.insert(
            String::from("Svc7Service"),
            named(-7),
            Owner::Named(Some(7)),
        );
        assert_eq!(resources.entries.len(), 2_000);
        assert_eq!(resources.get("Svc7Service"), Some(&named(-7)));
        assert_eq!(resources.get("Svc1999Service"), Some(&named(1999)));
        assert!(!resources.contains_key("Svc2000Service"));
        if let Some(r) = resources.get_mut("Svc8Service") {
            *r = named(-8);
        }
        let (sorted, owners) = resources.into_sorted();
        let at = |id: &str| sorted.iter().find(|(i, _)| i == id).map(|(_, r)| r.clone());
        assert_eq!(at("Svc8Service"), Some(named(-8)));
        assert_eq!(sorted.len(), 2_000);
        assert!(sorted.is_sorted_by(|a, b| a.0 < b.0));
        // Each owner went along with its resource.
        for ((id, _), owner) in sorted.iter().zip(&owners) {
            assert_eq!(Some(id.clone()), owner.map(|n| format!("Svc{n}Service")));
        }
    }

    /// Ids whose hashes collide are told apart by the ids themselves, and
    /// one added again under a shared hash still replaces its own.
    #[test]
    fn ids_of_one_hash_are_told_apart() {
        let mut resources = Resources::default();
        for (n, id) in ["A", "B", "C", "B"].iter().enumerate() {
            resources.insert_hashed(0, id.to_string(), named(n as i64), Owner::Named(None));
        }
        assert_eq!(resources.entries.len(), 3);
        assert_eq!(resources.position_hashed(0, "A"), Some(0));
        assert_eq!(resources.position_hashed(0, "B"), Some(1));
        assert_eq!(resources.position_hashed(0, "C"), Some(2));
        assert_eq!(resources.position_hashed(0, "D"), None);
        assert_eq!(resources.entries[1].1, named(3));
    }

    /// A resource placed with a component stays with it when its id is
    /// added again without a place; one named by its id takes a place
    /// given later.
    #[test]
    fn a_place_outlasts_a_resource_added_again_without_one() {
        let mut resources = Resources::default();
        resources.insert(String::from("Rule"), named(1), Owner::Placed(Some(4)));
        resources.insert(String::from("Rule"), named(2), Owner::Named(Some(9)));
        resources.insert(String::from("Group"), named(3), Owner::Named(Some(9)));
        resources.insert(String::from("Group"), named(4), Owner::Placed(Some(5)));
        resources.insert(String::from("Alone"), named(5), Owner::Named(None));
        let (sorted, owners) = resources.into_sorted();
        let ids: Vec<&str> = sorted.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["Alone", "Group", "Rule"]);
        assert_eq!(owners, [None, Some(5), Some(4)]);
        assert_eq!(sorted[2].1, named(2));
    }
}
