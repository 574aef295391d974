//! What a command means to the client: whether it waits on the server, and what state it
//! leaves on a connection.

pub(crate) mod blocking;
pub(crate) mod durable;
pub(crate) mod session;
pub(crate) mod writes;

/// `name` in upper case, in `buf`, when it fits: to match command names without allocating.
/// `None` for a longer name, which is none of the names a caller matches.
pub(crate) fn upper_name<'a, const N: usize>(
    name: &[u8],
    buf: &'a mut [u8; N],
) -> Option<&'a [u8]> {
    let upper = buf.get_mut(..name.len())?;
    upper.copy_from_slice(name);
    upper.make_ascii_uppercase();
    Some(upper)
}
