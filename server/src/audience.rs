//! Who a raised event reaches (Photon's RaiseEventOptions): a receiver group, the actors named in the
//! request, or the members subscribed to an interest group, and the interest-group subscriptions that
//! ChangeGroups (248) edits.

use crate::plugin::ReceiverGroup;

/// Interest groups 1 to 255. Group 0 means "everyone" and is never subscribed to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupSet([u64; 4]);

impl GroupSet {
    /// Every group from 1 to 255.
    pub const ALL: GroupSet = GroupSet([!1, !0, !0, !0]);

    pub fn contains(&self, group: u8) -> bool {
        self.0[(group / 64) as usize] & (1 << (group % 64)) != 0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    fn insert(&mut self, group: u8) {
        if group != 0 {
            self.0[(group / 64) as usize] |= 1 << (group % 64);
        }
    }

    fn remove(&mut self, group: u8) {
        self.0[(group / 64) as usize] &= !(1 << (group % 64));
    }

    /// ChangeGroups as Photon defines it: `remove` first (an empty list removes every group), then
    /// `add` (an empty list adds every group); `None` leaves that step out. Group 0 is ignored.
    pub fn change(&mut self, remove: Option<&[u8]>, add: Option<&[u8]>) {
        match remove {
            Some([]) => *self = GroupSet::default(),
            Some(groups) => groups.iter().for_each(|&group| self.remove(group)),
            None => {}
        }
        match add {
            Some([]) => *self = GroupSet::ALL,
            Some(groups) => groups.iter().for_each(|&group| self.insert(group)),
            None => {}
        }
    }
}

/// Who one raised event reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience<'a> {
    /// The receiver group of the request (Others by default).
    Group(ReceiverGroup),
    /// The receiver group, narrowed to the members subscribed to this interest group (1 to 255).
    Interest(ReceiverGroup, u8),
    /// Exactly these actors (ascending, without repeats), the sender too if it is named; actors not in
    /// the room are passed over.
    Actors(&'a [i32]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_removes_then_adds_and_empty_lists_mean_every_group() {
        let mut groups = GroupSet::default();
        groups.change(None, Some(&[1, 2, 200, 0]));
        assert!(groups.contains(1) && groups.contains(2) && groups.contains(200));
        assert!(!groups.contains(0), "group 0 is everyone, never a subscription");
        groups.change(Some(&[2]), None);
        assert!(groups.contains(1) && !groups.contains(2));
        groups.change(Some(&[]), Some(&[7]));
        assert_eq!((groups.contains(1), groups.contains(7)), (false, true), "removed all, then added 7");
        groups.change(None, Some(&[]));
        assert!((1..=255).all(|group| groups.contains(group)) && !groups.contains(0));
        groups.change(Some(&[]), None);
        assert!(groups.is_empty());
    }
}
