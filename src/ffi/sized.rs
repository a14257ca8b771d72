//! Size-prefixed structures: how the structures a host fills can gain fields without breaking hosts
//! compiled against an older or newer header.
//!
//! Every such structure starts with `uint32_t struct_size` and has no padding (explicit `reserved`
//! bytes stand where the compiler would put it, so no byte is uninitialised and a field added later
//! can never land in bytes an older library skipped). Reading takes the bytes the host has, the rest
//! from the defaults, and refuses set bytes this library does not know, reserved ones included (a
//! newer host asking for something this library cannot do must not be ignored). Writing writes only
//! what the host has room for.

use super::boundary::Failure;
use super::result::PeerResult;

/// A structure that starts with its size.
pub(crate) trait Sized32: Copy {
    /// The size of the first layout: no host can have fewer bytes.
    const MIN_SIZE: usize;
    fn set_size(&mut self, size: u32);
    /// The bytes that must be zero.
    fn reserved(&self) -> &[u8] {
        &[]
    }
    /// More bytes that must be zero, for a structure whose later layout added reserved bytes of its
    /// own (they cannot join the first ones without moving fields).
    fn reserved_later(&self) -> &[u8] {
        &[]
    }
}

/// Reads a host's structure over `defaults`.
///
/// # Safety
/// `pointer` must point to at least as many readable bytes as its leading `struct_size` says.
pub(crate) unsafe fn read<T: Sized32>(pointer: *const T, defaults: T, name: &str) -> Result<T, Failure> {
    if pointer.is_null() {
        return Err(PeerResult::NullParameter.into());
    }
    // SAFETY: every such structure starts with a u32 per the contract.
    let size = unsafe { pointer.cast::<u32>().read_unaligned() } as usize;
    let known = std::mem::size_of::<T>();
    if size < T::MIN_SIZE {
        let detail = format!(
            "{name}.struct_size is {size}; it must be at least {} (fill it with its _default function)",
            T::MIN_SIZE
        );
        return Err(Failure::new(PeerResult::InvalidArgument, detail));
    }
    // SAFETY: `size` readable bytes per the contract.
    let bytes = unsafe { std::slice::from_raw_parts(pointer.cast::<u8>(), size) };
    if let Some(offset) = bytes.iter().skip(known).position(|byte| *byte != 0) {
        let detail = format!(
            "{name} sets byte {} of {size}, beyond the {known} this library knows: it needs a newer sealnet library",
            known + offset
        );
        return Err(Failure::new(PeerResult::InvalidArgument, detail));
    }
    let mut value = defaults;
    // SAFETY: copies at most `known` bytes into a `T`; every field of these structures accepts any
    // bit pattern a C host can write (integers, pointers, nullable function pointers).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), (&mut value as *mut T).cast::<u8>(), size.min(known)) };
    if value.reserved().iter().chain(value.reserved_later()).any(|byte| *byte != 0) {
        let detail = format!("{name}.reserved must be zero: it needs a newer sealnet library, or was not filled");
        return Err(Failure::new(PeerResult::InvalidArgument, detail));
    }
    value.set_size(known as u32);
    Ok(value)
}

/// Writes `value` into a host's structure of `size` bytes, setting its `struct_size` to `size`.
///
/// # Safety
/// `pointer` must point to `size` writable bytes.
pub(crate) unsafe fn write<T: Sized32>(pointer: *mut T, size: u32, mut value: T, name: &str) -> Result<(), Failure> {
    if pointer.is_null() {
        return Err(PeerResult::NullParameter.into());
    }
    let size = size as usize;
    if size < T::MIN_SIZE {
        let detail = format!("the size given for {name} is {size}; it must be at least {}", T::MIN_SIZE);
        return Err(Failure::new(PeerResult::InvalidArgument, detail));
    }
    value.set_size(size as u32);
    let known = std::mem::size_of::<T>();
    // SAFETY: `size` writable bytes per the contract; the part past what this library knows is zeroed,
    // which is every newer field's default.
    unsafe {
        let out = pointer.cast::<u8>();
        std::ptr::copy_nonoverlapping((&value as *const T).cast::<u8>(), out, size.min(known));
        if size > known {
            std::ptr::write_bytes(out.add(known), 0, size - known);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A structure that grew: `added` came after the first layout (which ended at `first`).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Grown {
        struct_size: u32,
        first: u32,
        added: u64,
    }

    impl Sized32 for Grown {
        const MIN_SIZE: usize = 8;
        fn set_size(&mut self, size: u32) {
            self.struct_size = size;
        }
    }

    const DEFAULTS: Grown = Grown { struct_size: 16, first: 1, added: 7 };

    #[test]
    fn an_older_host_gets_defaults_for_what_it_lacks() {
        let old = [8u32, 42];
        let read = unsafe { read(old.as_ptr().cast::<Grown>(), DEFAULTS, "grown") }.unwrap();
        assert_eq!(read, Grown { struct_size: 16, first: 42, added: 7 });
    }

    #[test]
    fn a_newer_host_is_read_when_its_extra_bytes_are_zero_and_refused_otherwise() {
        let mut newer = [0u8; 24];
        newer[..4].copy_from_slice(&24u32.to_ne_bytes());
        newer[4..8].copy_from_slice(&5u32.to_ne_bytes());
        let read_newer = |bytes: &[u8; 24]| unsafe { read(bytes.as_ptr().cast::<Grown>(), DEFAULTS, "grown") };
        assert_eq!(read_newer(&newer).unwrap().first, 5);
        newer[20] = 1;
        let error = read_newer(&newer).unwrap_err();
        assert_eq!(error.result, PeerResult::InvalidArgument);
        assert!(error.detail.unwrap().contains("sets byte 20 of 24, beyond the 16"));
    }

    #[test]
    fn sizes_below_the_first_layout_are_refused() {
        let tiny = [4u32, 0];
        assert!(unsafe { read(tiny.as_ptr().cast::<Grown>(), DEFAULTS, "grown") }.is_err());
        let mut out = [0u32; 4];
        assert!(unsafe { write(out.as_mut_ptr().cast::<Grown>(), 4, DEFAULTS, "grown") }.is_err());
        assert!(unsafe { read(std::ptr::null::<Grown>(), DEFAULTS, "grown") }.is_err());
    }

    #[test]
    fn writing_fills_only_the_hosts_bytes_and_zeroes_what_it_does_not_know() {
        let mut old = [0xAAAA_AAAAu32; 3];
        unsafe { write(old.as_mut_ptr().cast::<Grown>(), 8, DEFAULTS, "grown") }.unwrap();
        assert_eq!(old, [8, 1, 0xAAAA_AAAA], "nothing past the host's 8 bytes");
        let mut newer = [0xFFu8; 24];
        unsafe { write(newer.as_mut_ptr().cast::<Grown>(), 24, DEFAULTS, "grown") }.unwrap();
        assert_eq!(u32::from_ne_bytes(newer[..4].try_into().unwrap()), 24);
        assert!(newer[16..].iter().all(|byte| *byte == 0));
    }
}
