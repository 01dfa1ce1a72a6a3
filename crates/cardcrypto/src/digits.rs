//! Digit-string helpers shared by the PIN and card algorithms: input checks whose errors
//! name the field but never echo its value, nibble packing, the PAN field of ISO 9564-1
//! formats 0 and 3, and the "digits first, then letters less ten" decimalization that the
//! Visa PVV and the CVV family share.

use zeroize::Zeroizing;

use crate::error::Error;

/// Checks that `s` is `min..=max` decimal digits.
pub(crate) fn check_decimal(s: &str, what: &str, min: usize, max: usize) -> Result<(), Error> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(format!(
            "{what} must be {} decimal digits",
            range(min, max)
        )));
    }
    Ok(())
}

/// The nibble values of `s`, `min..=max` hexadecimal digits (either case).
pub(crate) fn hex_nibbles(
    s: &str,
    what: &str,
    min: usize,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let nibbles: Zeroizing<Vec<u8>> = Zeroizing::new(
        s.bytes()
            .map_while(|b| char::from(b).to_digit(16).map(|d| d as u8))
            .collect(),
    );
    if nibbles.len() != s.len() || s.len() < min || s.len() > max {
        return Err(Error::InvalidInput(format!(
            "{what} must be {} hexadecimal digits",
            range(min, max)
        )));
    }
    Ok(nibbles)
}

fn range(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else {
        format!("{min} to {max}")
    }
}

/// The values of ASCII decimal digits (callers check them first).
pub(crate) fn digit_values(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().map(|b| b.wrapping_sub(b'0'))
}

/// Packs nibbles (values 0..=15) two to a byte, high nibble first, into `out`; missing
/// nibbles at the end are left as they are in `out`.
pub(crate) fn pack_into(nibbles: impl IntoIterator<Item = u8>, out: &mut [u8]) {
    for (i, n) in nibbles.into_iter().enumerate().take(out.len() * 2) {
        let byte = &mut out[i / 2];
        if i % 2 == 0 {
            *byte = (*byte & 0x0F) | (n << 4);
        } else {
            *byte = (*byte & 0xF0) | (n & 0x0F);
        }
    }
}

/// The nibbles of `bytes`, high nibble first.
pub(crate) fn unpack(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(bytes.iter().flat_map(|b| [b >> 4, b & 0x0F]).collect())
}

/// The 12 rightmost PAN digits excluding the check digit, left-padded with zeros when the
/// PAN is shorter (ISO 9564-1 formats 0 and 3; also the "legacy PAN length" AWS uses for
/// format 4 in translation). `pan` must be checked digits.
pub(crate) fn pan12(pan: &str) -> [u8; 12] {
    let body = &pan.as_bytes()[..pan.len().saturating_sub(1)];
    let take = &body[body.len().saturating_sub(12)..];
    let mut out = [0u8; 12];
    for (o, d) in out[12 - take.len()..].iter_mut().zip(take) {
        *o = d - b'0';
    }
    out
}

/// Decimalizes `bytes` the Visa way: their decimal nibbles left to right, then, if fewer
/// than `n` were found, the nibbles A..F left to right less ten. Returns `n` ASCII digits
/// (`n <= 2 * bytes.len()`, which callers guarantee).
pub(crate) fn decimalize(bytes: &[u8], n: usize) -> Zeroizing<String> {
    let nibbles = unpack(bytes);
    let digits = nibbles.iter().filter(|&&v| v < 10).copied();
    let letters = nibbles.iter().filter(|&&v| v >= 10).map(|v| v - 10);
    Zeroizing::new(
        digits
            .chain(letters)
            .take(n)
            .map(|v| char::from(b'0' + v))
            .collect(),
    )
}
