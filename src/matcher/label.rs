//! A label value of a list entry (its address text, nickname, country) as the traffic metrics key their maps by:
//! hashed once, when the matcher is built, and compared by pointer before bytes, so that counting a hit hashes no
//! text and, while the list is the same, compares none.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use rustc_hash::FxHashMap;

/// A shared label value with its hash.
#[derive(Clone)]
pub struct Label {
    hash: u64,
    text: Arc<str>,
}

impl Label {
    pub fn new(text: &str) -> Label {
        Label {
            hash: rustc_hash::FxBuildHasher.hash_one(text),
            text: text.into(),
        }
    }
}

impl Label {
    /// Whether both are the same allocation (so equal without reading either).
    pub fn same(&self, other: &Label) -> bool {
        Arc::ptr_eq(&self.text, &other.text)
    }
}

/// Label values made once per distinct text: the entries of a list that share a country (or nickname) share its
/// label, so that hits of different entries compare their country by pointer.
#[derive(Default)]
pub struct Interner {
    made: FxHashMap<Box<str>, Label>,
}

impl Interner {
    pub fn label(&mut self, text: &str) -> Label {
        if let Some(l) = self.made.get(text) {
            return l.clone();
        }
        let l = Label::new(text);
        self.made.insert(text.into(), l.clone());
        l
    }
}

/// The value of `key` in `map`, the map's key made the same allocation as `key` first when it is not (after the
/// lists were rebuilt), so that the lookups of later hits compare pointers, not text.
pub fn get_rekeyed<'m, V>(map: &'m mut FxHashMap<Label, V>, key: &Label) -> Option<&'m mut V> {
    rekey(map, key);
    map.get_mut(key)
}

/// [`get_rekeyed`], inserting `make()` when the map has no value for `key`.
pub fn get_or_insert_rekeyed<'m, V>(
    map: &'m mut FxHashMap<Label, V>,
    key: &Label,
    make: impl FnOnce() -> V,
) -> &'m mut V {
    if !rekey(map, key) {
        map.insert(key.clone(), make());
    }
    map.get_mut(key).expect("present or inserted above")
}

/// Makes the map's key for `key` the same allocation as `key`; false when the map has no such key.
fn rekey<V>(map: &mut FxHashMap<Label, V>, key: &Label) -> bool {
    match map.get_key_value(key) {
        None => false,
        Some((k, _)) if k.same(key) => true,
        Some(_) => {
            if let Some(v) = map.remove(key) {
                map.insert(key.clone(), v);
            }
            true
        }
    }
}

impl Deref for Label {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

/// Equal values: the same allocation (two hits of one entry), else the same hash and bytes.
impl PartialEq for Label {
    fn eq(&self, other: &Label) -> bool {
        Arc::ptr_eq(&self.text, &other.text) || (self.hash == other.hash && self.text == other.text)
    }
}

impl Eq for Label {}

/// The hash taken when the label was made (`Eq` agrees: equal text, equal hash).
impl Hash for Label {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_of_equal_text_are_one_key_whoever_made_them() {
        let a = Label::new("185.220.101.7");
        let b = Label::new("185.220.101.7");
        assert!(!Arc::ptr_eq(&a.text, &b.text));
        assert_eq!(a, b);
        assert_eq!(a, a.clone());
        assert_ne!(a, Label::new("185.220.101.8"));
        let mut map = FxHashMap::default();
        map.insert(a, 1);
        assert_eq!(map.get(&b), Some(&1));
        assert_eq!(map.get(&Label::new("185.220.101.70")), None);
        assert_eq!(&*b, "185.220.101.7");
        assert_eq!(b.to_string(), "185.220.101.7");
        *get_rekeyed(&mut map, &b).unwrap() += 1;
        assert!(map.keys().next().unwrap().same(&b), "the key is now b's");
        assert_eq!(map.get(&b), Some(&2));
        assert!(get_rekeyed(&mut map, &Label::new("x")).is_none());
    }

    #[test]
    fn an_interner_gives_one_label_per_text() {
        let mut i = Interner::default();
        let (de, de2, fr) = (i.label("de"), i.label("de"), i.label("fr"));
        assert!(de.same(&de2));
        assert!(!de.same(&fr));
    }
}
