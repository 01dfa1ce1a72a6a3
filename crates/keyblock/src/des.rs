//! DES (FIPS 46-3) and TDES (NIST SP 800-67: encrypt-decrypt-encrypt under K1, K2, K3; a
//! two-key key is K1 K2 K1), written for the payment data plane's short messages, where each
//! request keys one or two TDES keys and runs a block or two under them.
//!
//! What makes it quicker than a bit-by-bit rendering of the standard:
//! - the expansion E is not computed: S-box `i` reads the six bits of R starting at bit `4i`
//!   (bit 32 before bit 1, cyclically), which one rotation of R brings to the bottom;
//! - each S-box's output goes through P by one lookup of the bits it sets there;
//! - IP and FP are five bit swaps each (checked against the standard's tables in the tests);
//! - PC-1 and PC-2 are lookups of three bits at a time (twenty a round for PC-2), whose
//!   tables give the round keys packed as the rounds read them;
//! - a TDES block crosses IP and FP once, not once per DES (FP then IP is the identity);
//! - a two-key TDES key has two key schedules, not three.
//!
//! Every table that a secret indexes (the S-boxes, their outputs through P, PC-1's and PC-2's
//! three bits) is 64 bytes and aligned to 64: one cache line, so which line a lookup touches
//! never depends on a key or data. IP and FP are computed without lookups. Key schedules and the key parts
//! they are made from are wiped on drop.
//!
//! The permutation and S-box tables are those of FIPS 46-3 (appendix 1, and "Key Schedule
//! Calculation"), with bit 1 the most significant, as the standard numbers them.

use aes::cipher::consts::{U1, U8};
use aes::cipher::{
    Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt, BlockCipherEncBackend,
    BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut, ParBlocksSizeUser,
};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;

/// The permutation P of the S-boxes' 32 output bits.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// The S-boxes, each as the standard prints it: four rows of sixteen columns.
const S: [[u8; 64]; 8] = [
    [
        14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12,
        11, 9, 5, 3, 8, 4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9,
        1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
    ],
    [
        15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1,
        10, 6, 9, 11, 5, 0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15,
        4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
    ],
    [
        10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5,
        14, 12, 11, 15, 1, 13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6,
        9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
    ],
    [
        7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2,
        12, 1, 10, 14, 9, 10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1,
        13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
    ],
    [
        2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15,
        10, 3, 9, 8, 6, 4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14,
        2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
    ],
    [
        12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13,
        14, 0, 11, 3, 8, 9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5,
        15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
    ],
    [
        4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5,
        12, 2, 15, 8, 6, 1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4,
        10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
    ],
    [
        13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6,
        11, 0, 14, 9, 2, 7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10,
        8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
    ],
];

/// Permuted choice 1: the 56 key bits (C then D) taken from the 64 of the key.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2: a round key's 48 bits taken from C and D (the first 24 from C, bits 1-28,
/// the last 24 from D, bits 29-56).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// How far C and D rotate left before each round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// A table of one cache line.
#[repr(align(64))]
struct Line<T>(T);

/// Each S-box indexed by its six input bits as they come (bit 1 the highest): the standard's row
/// is bits 1 and 6, its column bits 2 to 5.
static S_BY_INPUT: [Line<[u8; 64]>; 8] = {
    let mut tables = [const { Line([0u8; 64]) }; 8];
    let mut i = 0;
    while i < 8 {
        let mut x = 0;
        while x < 64 {
            let row = ((x >> 4) & 2) | (x & 1);
            let column = (x >> 1) & 0xf;
            tables[i].0[x] = S[i][row * 16 + column];
            x += 1;
        }
        i += 1;
    }
    tables
};

/// S-box `i`'s four output bits through P: the bits of f's output that each value sets.
static P_OF_S: [Line<[u32; 16]>; 8] = {
    let mut tables = [const { Line([0u32; 16]) }; 8];
    let mut i = 0;
    while i < 8 {
        let mut value = 0;
        while value < 16 {
            // The value sits at bits 4i+1..4i+4 of P's input; output bit j is input bit P[j].
            let mut out = 0u32;
            let mut j = 0;
            while j < 32 {
                let from = P[j] as usize - 1;
                if from / 4 == i && (value >> (3 - from % 4)) & 1 == 1 {
                    out |= 1 << (31 - j);
                }
                j += 1;
            }
            tables[i].0[value] = out;
            value += 1;
        }
        i += 1;
    }
    tables
};

/// How many bits of a word one key-schedule lookup takes: a table of 2^3 = 8 `u64`s is one
/// cache line.
const CHUNK: usize = 3;

/// PC-1 by three bits of the key: `PC1_BY_CHUNK[k][v]` is the part of C and D (C at bits 55-28,
/// D at 27-0, C's bit 1 highest) that the key's bits 3k..3k+2 (bit 0 the lowest of the key
/// read big-endian) holding `v` give.
static PC1_BY_CHUNK: [Line<[u64; 8]>; 22] = {
    let mut tables = [const { Line([0u64; 8]) }; 22];
    let mut j = 0;
    while j < 56 {
        let from = 64 - PC1[j] as usize;
        let mut value = 0;
        while value < 8 {
            if (value >> (from % CHUNK)) & 1 == 1 {
                tables[from / CHUNK].0[value] |= 1 << (55 - j);
            }
            value += 1;
        }
        j += 1;
    }
    tables
};

/// PC-2 by three bits of C (`half` 0) or D (`half` 1), packed as [`Schedule`] keeps a round key
/// (the first word in the low 32 bits): entry `[k][v]` is what the half's bits 3k..3k+2 (bit 0
/// the lowest of the 28) holding `v` set there.
const fn pc2_by_chunk(half: usize) -> [Line<[u64; 8]>; 10] {
    let mut tables = [const { Line([0u64; 8]) }; 10];
    let mut j = 0;
    while j < 24 {
        // Round-key bit j of the half's 24 (bit 1 of C or D its bit 27 from the lowest) sits in
        // S-box i's group at place j % 6 (0 the group's highest bit).
        let from = 28 - (PC2[half * 24 + j] as usize - half * 28);
        let i = half * 4 + j / 6;
        let at = (i % 2) * 32 + GROUP_SHIFTS[i / 2] as usize + 5 - j % 6;
        let mut value = 0;
        while value < 8 {
            if (value >> (from % CHUNK)) & 1 == 1 {
                tables[from / CHUNK].0[value] |= 1 << at;
            }
            value += 1;
        }
        j += 1;
    }
    tables
}

static PC2_OF_C: [Line<[u64; 8]>; 10] = pc2_by_chunk(0);
static PC2_OF_D: [Line<[u64; 8]>; 10] = pc2_by_chunk(1);

/// The parts that `tables` give for each three bits of `word`, together.
#[inline(always)]
fn by_chunks<const N: usize>(word: u64, tables: &[Line<[u64; 8]>; N]) -> u64 {
    let mut out = 0;
    for (k, table) in tables.iter().enumerate() {
        out |= table.0[((word >> (CHUNK * k)) & 7) as usize];
    }
    out
}

/// Swaps the bits of `a` selected by `mask << shift` with those of `b` selected by `mask`.
fn swap_bits(a: &mut u32, b: &mut u32, shift: u32, mask: u32) {
    let t = ((*a >> shift) ^ *b) & mask;
    *b ^= t;
    *a ^= t << shift;
}

/// The bit swaps that make IP, in order, on the halves (L, R) of the block (`true`: swap from R
/// into L). Each is its own inverse, so FP is the same swaps in reverse order. Checked against
/// the table IP in the tests.
const IP_SWAPS: [(bool, u32, u32); 5] = [
    (false, 4, 0x0f0f_0f0f),
    (false, 16, 0x0000_ffff),
    (true, 2, 0x3333_3333),
    (true, 8, 0x00ff_00ff),
    (false, 1, 0x5555_5555),
];

fn swap_step((l, r): &mut (u32, u32), (from_r, shift, mask): (bool, u32, u32)) {
    if from_r {
        swap_bits(r, l, shift, mask);
    } else {
        swap_bits(l, r, shift, mask);
    }
}

/// IP of a block, as its two halves.
fn initial_permutation(block: u64) -> (u32, u32) {
    let mut halves = ((block >> 32) as u32, block as u32);
    for step in IP_SWAPS {
        swap_step(&mut halves, step);
    }
    halves
}

/// FP of two halves, as a block.
fn final_permutation(mut halves: (u32, u32)) -> u64 {
    for step in IP_SWAPS.into_iter().rev() {
        swap_step(&mut halves, step);
    }
    (u64::from(halves.0) << 32) | u64::from(halves.1)
}

fn rotate28(half: u32, by: u32) -> u32 {
    ((half << by) | (half >> (28 - by))) & 0x0fff_ffff
}

/// One DES key's sixteen round keys. Each round key's eight six-bit groups (one per S-box) are
/// packed in two words laid out as [`Schedule::f`] reads R: S-boxes 1, 3, 5, 7 at bits 0, 24,
/// 16, 8 of the first, S-boxes 2, 4, 6, 8 likewise in the second. Wiped on drop.
struct Schedule([[u32; 2]; 16]);

/// Where each S-box's six bits sit in its word of a packed round key (and of R rotated).
const GROUP_SHIFTS: [u32; 4] = [0, 24, 16, 8];

impl Schedule {
    fn new(key: &[u8; 8]) -> Self {
        let cd = by_chunks(u64::from_be_bytes(*key), &PC1_BY_CHUNK);
        let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0fff_ffff) as u32);
        let mut rounds = [[0u32; 2]; 16];
        for (round, shift) in rounds.iter_mut().zip(SHIFTS) {
            c = rotate28(c, shift);
            d = rotate28(d, shift);
            let packed = by_chunks(u64::from(c), &PC2_OF_C) | by_chunks(u64::from(d), &PC2_OF_D);
            *round = [packed as u32, (packed >> 32) as u32];
        }
        Self(rounds)
    }

    /// The round function f of R under one round key. S-box `i` takes bits 4i..4i+5 of R (bit
    /// 0 being bit 32), which `R.rotate_left(5 + 4i)` brings to the bottom: R rotated by 5 holds
    /// the groups of S-boxes 1, 3, 5, 7 at bits 0, 24, 16, 8, R rotated by 9 those of 2, 4, 6, 8.
    #[inline(always)]
    fn f(r: u32, round: &[u32; 2]) -> u32 {
        let words = [r.rotate_left(5) ^ round[0], r.rotate_left(9) ^ round[1]];
        let mut out = 0;
        for i in 0..8 {
            let input = (words[i % 2] >> GROUP_SHIFTS[i / 2]) & 0x3f;
            out |= P_OF_S[i].0[usize::from(S_BY_INPUT[i].0[input as usize] & 0xf)];
        }
        out
    }

    /// Sixteen rounds, forwards (encryption) or backwards (decryption), on the halves after IP;
    /// answers them as the next DES would take them after FP and IP (swapped).
    #[inline(always)]
    fn rounds(&self, (mut l, mut r): (u32, u32), decrypt: bool) -> (u32, u32) {
        for n in 0..16 {
            let round = &self.0[if decrypt { 15 - n } else { n }];
            (l, r) = (r, l ^ Self::f(r, round));
        }
        (r, l)
    }
}

impl Drop for Schedule {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// A block through IP, `stages` of sixteen rounds each, and FP; the copy it works on is wiped.
fn run(mut block: InOut<'_, '_, Block<Des>>, stages: &[(&Schedule, bool)]) {
    let mut bytes: [u8; 8] = block.clone_in().into();
    let mut halves = initial_permutation(u64::from_be_bytes(bytes));
    for (schedule, decrypt) in stages {
        halves = schedule.rounds(halves, *decrypt);
    }
    bytes = final_permutation(halves).to_be_bytes();
    block.get_out().copy_from_slice(&bytes);
    bytes.zeroize();
}

fn key_part(key: &[u8], part: usize) -> Zeroizing<[u8; 8]> {
    let mut bytes = Zeroizing::new([0u8; 8]);
    bytes.copy_from_slice(&key[8 * part..8 * part + 8]);
    bytes
}

/// Single DES under one 8-byte key.
pub(crate) struct Des(Schedule);

impl Des {
    /// # Errors
    /// [`Error::InvalidKeyLength`] unless the key is 8 bytes.
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        if key.len() != 8 {
            return Err(Error::InvalidKeyLength {
                what: "DES key",
                len: key.len(),
            });
        }
        Ok(Self(Schedule::new(&key_part(key, 0))))
    }
}

/// TDES under a two-key (16-byte) or three-key (24-byte) key.
pub(crate) struct Tdes {
    k1: Schedule,
    k2: Schedule,
    /// None for a two-key key, whose K3 is K1.
    k3: Option<Schedule>,
}

impl Tdes {
    /// # Errors
    /// [`Error::InvalidKeyLength`] unless the key is 16 or 24 bytes.
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        if key.len() != 16 && key.len() != 24 {
            return Err(Error::InvalidKeyLength {
                what: "TDES key",
                len: key.len(),
            });
        }
        Ok(Self {
            k1: Schedule::new(&key_part(key, 0)),
            k2: Schedule::new(&key_part(key, 1)),
            k3: (key.len() == 24).then(|| Schedule::new(&key_part(key, 2))),
        })
    }

    fn k3(&self) -> &Schedule {
        self.k3.as_ref().unwrap_or(&self.k1)
    }
}

/// The `cipher` traits, so that the modes and CMAC of `sym` run over these as over AES.
macro_rules! block_cipher {
    ($name:ident, |$c:ident| encrypt: $encrypt:expr, decrypt: $decrypt:expr) => {
        impl BlockSizeUser for $name {
            type BlockSize = U8;
        }

        impl ParBlocksSizeUser for $name {
            type ParBlocksSize = U1;
        }

        impl BlockCipherEncrypt for $name {
            fn encrypt_with_backend(
                &self,
                f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>,
            ) {
                f.call(self)
            }
        }

        impl BlockCipherEncBackend for $name {
            fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
                let $c = self;
                run(block, &$encrypt);
            }
        }

        impl BlockCipherDecrypt for $name {
            fn decrypt_with_backend(
                &self,
                f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>,
            ) {
                f.call(self)
            }
        }

        impl BlockCipherDecBackend for $name {
            fn decrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
                let $c = self;
                run(block, &$decrypt);
            }
        }
    };
}

block_cipher!(Des, |c| encrypt: [(&c.0, false)], decrypt: [(&c.0, true)]);
block_cipher!(
    Tdes,
    |c| encrypt: [(&c.k1, false), (&c.k2, true), (c.k3(), false)],
    decrypt: [(c.k3(), true), (&c.k2, false), (&c.k1, true)]
);

#[cfg(test)]
mod tests {
    use super::*;
    use des::cipher::KeyInit;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// The initial permutation IP: output bit `i` is input bit `IP[i]`.
    const IP: [u8; 64] = [
        58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14,
        6, 64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11,
        3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
    ];

    /// The final permutation, IP's inverse.
    const FP: [u8; 64] = {
        let mut fp = [0u8; 64];
        let mut i = 0;
        while i < 64 {
            fp[IP[i] as usize - 1] = i as u8 + 1;
            i += 1;
        }
        fp
    };

    /// Bit `position` (1 the highest) of a 64-bit word.
    fn bit(word: u64, position: u8) -> u64 {
        (word >> (64 - u32::from(position))) & 1
    }

    /// The 64-bit permutation whose output bit `i` is input bit `table[i]`, bit by bit.
    fn permute(word: u64, table: &[u8; 64]) -> u64 {
        table
            .iter()
            .fold(0, |out, &from| (out << 1) | bit(word, from))
    }

    proptest::proptest! {
        /// The bit swaps are IP and FP as the standard's tables define them.
        #[test]
        fn swaps_are_the_tables(block in proptest::prelude::any::<u64>()) {
            let halves = initial_permutation(block);
            let permuted = (u64::from(halves.0) << 32) | u64::from(halves.1);
            proptest::prop_assert_eq!(permuted, permute(block, &IP));
            proptest::prop_assert_eq!(final_permutation(halves), block);
            proptest::prop_assert_eq!(
                final_permutation(((block >> 32) as u32, block as u32)),
                permute(block, &FP)
            );
        }
    }

    fn encrypt(c: &impl BlockCipherEncrypt<BlockSize = U8>, block: &[u8]) -> Vec<u8> {
        let mut b = Block::<Des>::try_from(block).unwrap();
        c.encrypt_block(&mut b);
        b.to_vec()
    }

    fn decrypt(c: &impl BlockCipherDecrypt<BlockSize = U8>, block: &[u8]) -> Vec<u8> {
        let mut b = Block::<Des>::try_from(block).unwrap();
        c.decrypt_block(&mut b);
        b.to_vec()
    }

    // Published single-DES examples: FIPS 81 appendix B ("Now is the time for all ", first
    // block, ECB) and the worked example of J. Orlin Grabbe's "The DES Algorithm Illustrated".
    #[test]
    fn des_published_examples() {
        for (key, plain, cipher) in [
            ("0123456789abcdef", "4e6f772069732074", "3fa40e8a984d4815"),
            ("133457799bbcdff1", "0123456789abcdef", "85e813540f0ab405"),
        ] {
            let des = Des::new(&h(key)).unwrap();
            assert_eq!(encrypt(&des, &h(plain)), h(cipher), "{key}");
            assert_eq!(decrypt(&des, &h(cipher)), h(plain), "{key}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Against RustCrypto's `des`, an independent implementation: random keys (single DES,
        /// two- and three-key TDES, and two-key keys with K1 = K2) and blocks, both directions.
        #[test]
        fn agrees_with_rustcrypto_des(
            mut key in proptest::prelude::any::<[u8; 24]>(),
            block in proptest::prelude::any::<[u8; 8]>(),
            k1_is_k2 in proptest::prelude::any::<bool>(),
        ) {
            if k1_is_k2 {
                key.copy_within(0..8, 8);
            }
            let ours = Des::new(&key[..8]).unwrap();
            let theirs = des::Des::new_from_slice(&key[..8]).unwrap();
            proptest::prop_assert_eq!(encrypt(&ours, &block), encrypt(&theirs, &block));
            proptest::prop_assert_eq!(decrypt(&ours, &block), decrypt(&theirs, &block));

            let ours = Tdes::new(&key[..16]).unwrap();
            let theirs = des::TdesEde2::new_from_slice(&key[..16]).unwrap();
            proptest::prop_assert_eq!(encrypt(&ours, &block), encrypt(&theirs, &block));
            proptest::prop_assert_eq!(decrypt(&ours, &block), decrypt(&theirs, &block));

            let ours = Tdes::new(&key).unwrap();
            let theirs = des::TdesEde3::new_from_slice(&key).unwrap();
            proptest::prop_assert_eq!(encrypt(&ours, &block), encrypt(&theirs, &block));
            proptest::prop_assert_eq!(decrypt(&ours, &block), decrypt(&theirs, &block));
        }
    }

    #[test]
    fn refuses_other_key_lengths() {
        assert!(Des::new(&[0; 16]).is_err());
        assert!(Tdes::new(&[0; 8]).is_err());
        assert!(Tdes::new(&[0; 32]).is_err());
    }
}
