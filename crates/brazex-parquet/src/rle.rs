//! Parquet's RLE / bit-packed hybrid encoding, for definition and repetition levels
//! and dictionary indices.
//!
//! A run of at least 8 equal values is one RLE run (its length and the value); the
//! values between runs are bit-packed in groups of 8, least significant bit first.
//! A bit-packed run must hold whole groups, so when a long run follows, it lends
//! the bit-packed run the values that complete its last group; only the very last
//! group of the data is padded (readers stop at the page's value count).

/// Appends `values` (each below `2^bit_width`, `bit_width` at most 32) to `out`.
///
/// Finds the runs by probing every eighth value: a run of 8 or more that starts
/// anywhere in the next 8 positions covers the eighth of them, so where that value's
/// run is shorter, all 8 are literals and are passed in one step. (Looking for a run
/// at every value cost as much as the rest of the encoding.)
pub fn encode<T: Copy + Eq + Into<u64>>(values: &[T], bit_width: u8, out: &mut Vec<u8>) {
    let n = values.len();
    // Values from `literal` up to `i` wait to be bit-packed; no run of 8 starts
    // before `i` that has not been written.
    let mut literal = 0;
    let mut i = 0;
    while i + 8 <= n {
        let probe = i + 7;
        let value = values[probe];
        let mut start = probe;
        while start > i && values[start - 1] == value {
            start -= 1;
        }
        let end = run_end(values, probe + 1, value);
        if end - start >= 8 {
            // The run lends the literals before it what completes their last group.
            let pad = (8 - (start - literal) % 8) % 8;
            if end - start - pad >= 8 {
                let from = start + pad;
                if from > literal {
                    bit_pack(&values[literal..from], bit_width, out);
                }
                rle(value.into(), end - from, bit_width, out);
                literal = end;
            }
        }
        i = end;
    }
    if literal < n {
        bit_pack(&values[literal..], bit_width, out);
    }
}

/// The end of the run of `value` from `from`: 16 values at a time (a comparison the
/// compiler makes in vector registers), then one by one.
fn run_end<T: Copy + Eq>(values: &[T], from: usize, value: T) -> usize {
    let mut end = from;
    for chunk in values[from..].chunks_exact(16) {
        if !chunk.iter().fold(true, |all, &v| all & (v == value)) {
            break;
        }
        end += 16;
    }
    while end < values.len() && values[end] == value {
        end += 1;
    }
    end
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn rle(value: u64, count: usize, bit_width: u8, out: &mut Vec<u8>) {
    varint((count as u64) << 1, out);
    let bytes = usize::from(bit_width).div_ceil(8);
    out.extend_from_slice(&value.to_le_bytes()[..bytes]);
}

/// Bit-packs `values`, padding the last group of 8 with zeros.
fn bit_pack<T: Copy + Into<u64>>(values: &[T], bit_width: u8, out: &mut Vec<u8>) {
    let groups = values.len().div_ceil(8);
    varint(((groups as u64) << 1) | 1, out);
    let width = usize::from(bit_width);
    // A group of 8 values is `width` bytes: packed in one word (levels fit 64 bits).
    if width <= 8 {
        return pack_words(values, width, out, u64::to_le_bytes);
    }
    if width <= 16 {
        return pack_words(values, width, out, u128::to_le_bytes);
    }
    let mut acc: u64 = 0;
    let mut bits = 0usize;
    for &value in values {
        acc |= value.into() << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    // Zeros for the rest of the last group: 8 values of `width` bits are whole bytes.
    let padded_bits = (groups * 8 - values.len()) * width + bits;
    for _ in 0..padded_bits.div_ceil(8) {
        out.push(acc as u8);
        acc >>= 8;
    }
}

/// Each group of 8 `values` (of `width` bits, `8 × width` at most the word's bits)
/// packed in one word `W`, whose first `width` bytes are the group's.
fn pack_words<T, W, const N: usize>(
    values: &[T],
    width: usize,
    out: &mut Vec<u8>,
    le_bytes: fn(W) -> [u8; N],
) where
    T: Copy + Into<u64>,
    W: From<u64> + std::ops::Shl<usize, Output = W> + std::ops::BitOr<Output = W>,
{
    out.reserve(values.len().div_ceil(8) * width);
    for group in values.chunks(8) {
        let word = group
            .iter()
            .enumerate()
            .fold(W::from(0), |word, (k, &value)| {
                word | (W::from(value.into()) << (k * width))
            });
        out.extend_from_slice(&le_bytes(word)[..width]);
    }
}

/// The bits needed for values up to `max`.
pub fn bit_width(max: u64) -> u8 {
    (64 - max.leading_zeros()) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder written from the format's description, to check the encoder.
    fn decode(mut data: &[u8], bit_width: u8, count: usize) -> Vec<u64> {
        let mut out = Vec::new();
        let read_varint = |data: &mut &[u8]| {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << shift;
                shift += 7;
                if b < 0x80 {
                    return v;
                }
            }
        };
        while out.len() < count {
            let header = read_varint(&mut data);
            if header & 1 == 0 {
                let bytes = usize::from(bit_width).div_ceil(8);
                let mut v = [0u8; 8];
                v[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(
                    u64::from_le_bytes(v),
                    (header >> 1) as usize,
                ));
            } else {
                let values = (header >> 1) as usize * 8;
                let bytes = values * usize::from(bit_width) / 8;
                let mut bitpos = 0usize;
                for _ in 0..values {
                    let mut v = 0u64;
                    for b in 0..usize::from(bit_width) {
                        let bit = (data[(bitpos + b) / 8] >> ((bitpos + b) % 8)) & 1;
                        v |= u64::from(bit) << b;
                    }
                    bitpos += usize::from(bit_width);
                    out.push(v);
                }
                data = &data[bytes..];
            }
        }
        out.truncate(count);
        out
    }

    #[test]
    fn round_trips_runs_literals_and_their_mixes() {
        let mut cases: Vec<Vec<u16>> = vec![
            vec![],
            vec![1],
            vec![1; 1000],
            (0..100).map(|i| (i % 3) as u16).collect(),
            [vec![2; 5], vec![1; 20], vec![0, 1, 2], vec![3; 9], vec![1]].concat(),
            [vec![0, 1, 0], vec![1; 8], vec![0; 7], vec![1; 16]].concat(),
        ];
        // Pseudo-random runs of random lengths.
        let mut x = 12345u64;
        for _ in 0..200 {
            let mut v = Vec::new();
            while v.len() < 300 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let len = 1 + (x >> 59) as usize;
                v.extend(std::iter::repeat_n(((x >> 40) % 5) as u16, len));
            }
            cases.push(v);
        }
        for values in cases {
            for width in [3u8, 7, 9, 16] {
                let mut out = Vec::new();
                encode(&values, width, &mut out);
                let expect: Vec<u64> = values.iter().map(|&v| u64::from(v)).collect();
                assert_eq!(decode(&out, width, values.len()), expect, "width {width}");
            }
        }
    }

    /// The encoder as first written: a run looked for at every value, and bits
    /// packed one value at a time. The encoder must write the same bytes.
    fn reference<T: Copy + Eq + Into<u64>>(values: &[T], bit_width: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let (n, mut literal, mut i) = (values.len(), 0, 0);
        let pack = |values: &[T], out: &mut Vec<u8>| {
            let groups = values.len().div_ceil(8);
            varint(((groups as u64) << 1) | 1, out);
            let (mut acc, mut bits) = (0u64, 0u32);
            for &value in values {
                acc |= value.into() << bits;
                bits += u32::from(bit_width);
                while bits >= 8 {
                    out.push(acc as u8);
                    acc >>= 8;
                    bits -= 8;
                }
            }
            let padded = (groups * 8 - values.len()) as u32 * u32::from(bit_width) + bits;
            for _ in 0..padded.div_ceil(8) {
                out.push(acc as u8);
                acc >>= 8;
            }
        };
        while i < n {
            let value = values[i];
            let mut end = i + 1;
            while end < n && values[end] == value {
                end += 1;
            }
            if end - i >= 8 {
                let pad = (8 - (i - literal) % 8) % 8;
                if end - i - pad >= 8 {
                    if i + pad > literal {
                        pack(&values[literal..i + pad], &mut out);
                    }
                    rle(value.into(), end - i - pad, bit_width, &mut out);
                    literal = end;
                }
            }
            i = end;
        }
        if literal < n {
            pack(&values[literal..], &mut out);
        }
        out
    }

    #[test]
    fn writes_what_the_first_encoder_wrote() {
        let mut x = 99u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        for case in 0..2000 {
            // Runs of every length around 8 and 16, and long ones, of few values.
            let mut values: Vec<u32> = Vec::new();
            let target = (next() % 200) as usize;
            while values.len() < target {
                let len = match next() % 4 {
                    0 => 1,
                    1 => 1 + (next() % 20) as usize,
                    2 => 6 + (next() % 5) as usize,
                    _ => (next() % 70) as usize,
                };
                let value = (next() % (1 + case % 5)) as u32;
                values.extend(std::iter::repeat_n(value, len));
            }
            for width in [3u8, 5, 8, 9, 16, 17, 20] {
                let mut out = Vec::new();
                encode(&values, width, &mut out);
                assert_eq!(out, reference(&values, width), "case {case} width {width}");
            }
        }
    }

    #[test]
    fn a_long_run_is_one_rle_run() {
        let mut out = Vec::new();
        encode(&[1u16; 100_000], 1, &mut out);
        assert_eq!(out.len(), 3 + 1);
    }

    #[test]
    fn wide_indices_round_trip() {
        let values: Vec<u32> = (0..1000).map(|i| (i * 7919) % (1 << 20)).collect();
        let mut out = Vec::new();
        encode(&values, 20, &mut out);
        let expect: Vec<u64> = values.iter().map(|&v| u64::from(v)).collect();
        assert_eq!(decode(&out, 20, values.len()), expect);
        assert_eq!(bit_width(0), 0);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(255), 8);
        assert_eq!(bit_width(256), 9);
    }
}
