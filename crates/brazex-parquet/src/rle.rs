//! Parquet's RLE / bit-packed hybrid encoding, for definition and repetition levels
//! and dictionary indices.
//!
//! A run of at least 8 equal values is one RLE run (its length and the value); the
//! values between runs are bit-packed in groups of 8, least significant bit first.
//! A bit-packed run must hold whole groups, so when a long run follows, it lends
//! the bit-packed run the values that complete its last group; only the very last
//! group of the data is padded (readers stop at the page's value count).

/// Appends `values` (each below `2^bit_width`, `bit_width` at most 32) to `out`.
pub fn encode<T: Copy + Eq + Into<u64>>(values: &[T], bit_width: u8, out: &mut Vec<u8>) {
    let n = values.len();
    // Values from `literal` up to `i` wait to be bit-packed.
    let mut literal = 0;
    let mut i = 0;
    while i < n {
        let value = values[i];
        let end = run_end(values, i + 1, value);
        if end - i >= 8 {
            let pad = (8 - (i - literal) % 8) % 8;
            if end - i - pad >= 8 {
                let start = i + pad;
                if start > literal {
                    bit_pack(&values[literal..start], bit_width, out);
                }
                rle(value.into(), end - start, bit_width, out);
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
    let width = u32::from(bit_width);
    let mut acc: u64 = 0;
    let mut bits = 0u32;
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
    let padded_bits = (groups * 8 - values.len()) as u32 * width + bits;
    for _ in 0..padded_bits.div_ceil(8) {
        out.push(acc as u8);
        acc >>= 8;
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
