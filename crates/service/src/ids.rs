//! Identifiers: key ids are 16 lowercase alphanumerics, as AWS writes them; tokens and other
//! names end in random ones.

use paycrypt_api::Timestamp;
use paycrypt_keyblock::SystemRng;
use paycrypt_keyblock::rand_core::Rng;

/// The characters of ids, in ASCII order: also the digits of a key id's time part, so that key
/// ids sort as their times do.
const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A key id for a key created at `now`: eight base-36 digits of its millisecond (the Unix epoch's,
/// modulo 36^8, which first wraps in 2059), then eight random characters.
///
/// Keys created together get neighbouring ids, so the store's index on key ids takes a burst of
/// new keys into one page rather than one page each: a group commit writes a few pages instead of
/// a dozen. Ids stay unguessable in their random half (41 bits, fresh for every key), and what the
/// time half tells is what the key's `CreateTimestamp` says to anyone who may read the key.
pub fn new_key_id(now: Timestamp) -> String {
    let mut millis = now.as_millis().rem_euclid(36_i64.pow(8));
    let mut time = [0u8; 8];
    for digit in time.iter_mut().rev() {
        *digit = ALPHABET[(millis % 36) as usize];
        millis /= 36;
    }
    let mut id = String::with_capacity(16);
    id.extend(time.iter().map(|&b| char::from(b)));
    id.push_str(&random_lower_alphanumeric(8));
    id
}

/// `len` characters drawn uniformly from `[a-z0-9]`.
pub fn random_lower_alphanumeric(len: usize) -> String {
    let mut rng = SystemRng;
    let mut out = String::with_capacity(len);
    // Random bytes in batches (one system call each), twice as many as characters: rejections
    // are rare (4 in 256), so one batch nearly always suffices.
    let mut batch = vec![0u8; 2 * len];
    while out.len() < len {
        rng.fill_bytes(&mut batch);
        // 252 = 7 * 36: reject the top values so every character is equally likely.
        for &byte in batch.iter().filter(|&&b| b < 252).take(len - out.len()) {
            out.push(char::from(ALPHABET[usize::from(byte) % ALPHABET.len()]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_aws_shape_and_differ() {
        let a = random_lower_alphanumeric(16);
        let b = random_lower_alphanumeric(16);
        assert_eq!(a.len(), 16);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, b);
    }

    #[test]
    fn key_ids_sort_as_their_times_and_stay_distinct() {
        let times = [
            0,
            1,
            35,
            36,
            1_700_000_000_000,
            1_700_000_000_001,
            1_800_000_000_000,
        ];
        let ids: Vec<String> = times
            .iter()
            .map(|&millis| new_key_id(Timestamp::from_millis(millis)))
            .collect();
        for id in &ids {
            assert_eq!(id.len(), 16);
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
        }
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
        assert_eq!(&ids[0][..8], "00000000");
        assert_eq!(&ids[3][..8], "00000010");
        let same_millisecond = new_key_id(Timestamp::from_millis(1_700_000_000_000));
        assert_eq!(same_millisecond[..8], ids[4][..8]);
        assert_ne!(same_millisecond, ids[4]);
    }
}
