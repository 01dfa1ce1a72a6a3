//! The data plane's binary members as hex text: requests' decoded (checked, never trusted:
//! an odd or non-hex value is refused), answers' written in upper case. Data members run to
//! kilobytes, so the decoder works on runs of digits that the compiler puts on vectors.

use paycrypt_api::ApiError;

/// A hex digit's value, or 0xff for a byte that is not one (whose high bits are set, a digit's
/// never are). Arithmetic rather than a table, so that the compiler runs it on vectors.
#[inline(always)]
fn digit_value(byte: u8) -> u8 {
    let decimal = byte.wrapping_sub(b'0');
    // Upper and lower case alike once bit 5 is set ('A' 0x41 -> 'a' 0x61).
    let letter = (byte | 0x20).wrapping_sub(b'a');
    if decimal < 10 {
        decimal
    } else if letter < 6 {
        letter + 10
    } else {
        0xff
    }
}

/// How many digits are decoded together: a run of them the compiler takes on vectors.
const RUN: usize = 32;

/// Hex input of a member the model already checked as hex (an odd or non-hex value is still
/// refused here, never trusted).
pub(crate) fn unhex(member: &str, value: &str) -> Result<Vec<u8>, ApiError> {
    if !value.len().is_multiple_of(2) {
        return Err(not_hex(member));
    }
    let mut bytes = vec![0; value.len() / 2];
    // Every digit's value or'ed into `marks`, checked once at the end.
    let mut marks = 0;
    let mut outs = bytes.chunks_exact_mut(RUN / 2);
    let mut runs = value.as_bytes().chunks_exact(RUN);
    for (out, run) in (&mut outs).zip(&mut runs) {
        let mut values = [0u8; RUN];
        for (value, &digit) in values.iter_mut().zip(run) {
            *value = digit_value(digit);
        }
        marks |= values.iter().fold(0, |marks, value| marks | value);
        for (byte, pair) in out.iter_mut().zip(values.chunks_exact(2)) {
            *byte = pair[0] << 4 | pair[1];
        }
    }
    for (byte, pair) in outs
        .into_remainder()
        .iter_mut()
        .zip(runs.remainder().chunks_exact(2))
    {
        let (high, low) = (digit_value(pair[0]), digit_value(pair[1]));
        marks |= high | low;
        *byte = high << 4 | low;
    }
    if marks & 0xf0 != 0 {
        return Err(not_hex(member));
    }
    Ok(bytes)
}

fn not_hex(member: &str) -> ApiError {
    ApiError::validation(format!("{member} must be hexadecimal bytes."))
}

/// Upper-case hex of `bytes`, as the data plane answers every binary member.
pub(crate) fn upper_hex(bytes: impl AsRef<[u8]>) -> String {
    // Arithmetic rather than a table, so that the compiler runs it on vectors.
    let digit = |nibble: u8| nibble + b'0' + 7 * u8::from(nibble > 9);
    let bytes = bytes.as_ref();
    let mut text = vec![0; bytes.len() * 2];
    for (pair, byte) in text.chunks_exact_mut(2).zip(bytes) {
        pair[0] = digit(byte >> 4);
        pair[1] = digit(byte & 0x0f);
    }
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// Hex of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(text: &str, member: &str) -> Result<[u8; N], ApiError> {
    unhex(member, text)?
        .try_into()
        .map_err(|_| ApiError::validation(format!("{member} must be {N} bytes.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_in_upper_case_and_refuses_what_is_not_hex() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = upper_hex(&bytes);
        assert_eq!(text, hex::encode_upper(&bytes));
        assert_eq!(unhex("PlainText", &text).unwrap(), bytes);
        assert_eq!(unhex("PlainText", &text.to_lowercase()).unwrap(), bytes);
        assert_eq!(upper_hex([]), "");
        for bad in [
            "ABC",
            "0G",
            "zz",
            "é1",
            "0123456789ABCDéé",
            "é0123456789ABCDE",
            "0123456789ABCDEF0123456789ABCDéé",
        ] {
            let error = unhex("PlainText", bad).unwrap_err();
            assert_eq!(error.message, "PlainText must be hexadecimal bytes.");
        }
    }

    /// Every byte value at every place of a run and of the tail: refused unless it is a hex
    /// digit, and decoded as the `hex` crate decodes it when it is.
    #[test]
    fn every_byte_at_every_place_decodes_as_the_hex_crate_says() {
        let digits = b"0123456789abcdefABCDEF0123456789abcdefABCDEF";
        for length in [2, 22, 32, 34, 44] {
            for at in 0..length {
                for byte in 0..=255u8 {
                    let mut text = digits[..length].to_vec();
                    text[at] = byte;
                    let Ok(text) = String::from_utf8(text) else {
                        continue;
                    };
                    let ours = unhex("PlainText", &text).ok();
                    assert_eq!(ours, hex::decode(&text).ok(), "{text:?}");
                }
            }
        }
    }
}
